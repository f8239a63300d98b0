import { useCallback, useEffect, useRef, useState } from 'react';
import { useDialog } from '../hooks/useDialog.ts';
import { useNow } from '../hooks/useNow.ts';
import { copyText } from '../lib/clipboard.ts';
import { relativeTime } from '../lib/relativeTime.ts';
import type { AuthApi, ShareInfo, ShareRole } from '../workspace/AuthApi.ts';
import { shareLink } from '../workspace/tokens.ts';
import { CloseButton } from './CloseButton.tsx';

interface Props {
  api: AuthApi;
  workspaceId: string;
  ownerToken: string;
  onClose(): void;
}

/** Expiry choices, in seconds (null: never). */
const EXPIRY: { value: string; label: string; seconds: number | null }[] = [
  { value: 'never', label: 'Never', seconds: null },
  { value: '1h', label: '1 hour', seconds: 3600 },
  { value: '1d', label: '1 day', seconds: 86_400 },
  { value: '7d', label: '7 days', seconds: 7 * 86_400 },
];

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The owner's sharing controls: mint a read or write link (optionally
 * expiring), copy it, and revoke links already given out. The link's token
 * travels in the fragment, which browsers never send to servers.
 */
export function ShareDialog({ api, workspaceId, ownerToken, onClose }: Props) {
  const [role, setRole] = useState<ShareRole>('read');
  const [expiry, setExpiry] = useState('never');
  const [link, setLink] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [shares, setShares] = useState<ShareInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const closeRef = useRef<HTMLButtonElement>(null);
  const now = useNow();

  const load = useCallback(async () => {
    try {
      setShares(await api.listShares(workspaceId, ownerToken));
    } catch (e) {
      setError(`Could not list the links: ${describe(e)}`);
    }
  }, [api, workspaceId, ownerToken]);

  useEffect(() => {
    void load();
  }, [load]);

  const dialogRef = useRef<HTMLElement>(null);
  // Focus moves in, Escape closes, focus returns to the opener; Tab stays inside.
  useDialog(dialogRef, onClose, { modal: true, initialFocus: closeRef });

  const create = async () => {
    setBusy(true);
    setError(null);
    setCopied(false);
    try {
      const seconds = EXPIRY.find((e) => e.value === expiry)?.seconds ?? null;
      const created = await api.createShare(workspaceId, ownerToken, {
        role,
        ...(seconds !== null ? { expiresInSeconds: seconds } : {}),
      });
      setLink(shareLink(window.location.origin, workspaceId, created.token));
      await load();
    } catch (e) {
      setError(`Could not create a link: ${describe(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (grantId: string) => {
    setError(null);
    try {
      await api.revokeShare(workspaceId, ownerToken, grantId);
      await load();
    } catch (e) {
      setError(`Could not revoke the link: ${describe(e)}`);
    }
  };

  const copy = async () => {
    if (link === null) return;
    if (await copyText(link, 'Copy this link:')) setCopied(true);
  };

  const live = shares?.filter((s) => s.revokedAt === null) ?? [];
  return (
    <div className="dialog-backdrop">
      <section
        ref={dialogRef}
        className="share-dialog"
        data-testid="share-dialog"
        role="dialog"
        aria-modal="true"
        aria-label="Share this workspace"
      >
        <div className="rp-header">
          <h2>Share this workspace</h2>
          <CloseButton
            label="Close sharing"
            onClick={onClose}
            testId="share-close"
            ref={closeRef}
          />
        </div>
        <div className="share-form">
          <label>
            People with the link can
            <select
              data-testid="share-role"
              value={role}
              onChange={(event) => setRole(event.target.value as ShareRole)}
            >
              <option value="read">read</option>
              <option value="write">read and write</option>
            </select>
          </label>
          <label>
            Expires
            <select
              data-testid="share-expiry"
              value={expiry}
              onChange={(event) => setExpiry(event.target.value)}
            >
              {EXPIRY.map((e) => (
                <option key={e.value} value={e.value}>
                  {e.label}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="button primary"
            data-testid="share-create"
            disabled={busy}
            onClick={() => void create()}
          >
            Create link
          </button>
        </div>
        {link !== null ? (
          <div className="share-result">
            <input
              readOnly
              data-testid="share-link"
              aria-label="Share link"
              value={link}
              onFocus={(event) => event.target.select()}
            />
            <button
              type="button"
              className="button"
              data-testid="share-copy"
              onClick={() => void copy()}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        ) : null}
        {error !== null ? (
          <p className="share-error" role="alert" data-testid="share-error">
            {error}
          </p>
        ) : null}
        <h3>Links</h3>
        {shares === null ? (
          <p className="rp-empty">Loading…</p>
        ) : live.length === 0 ? (
          <p className="rp-empty">No links yet.</p>
        ) : (
          <ul className="share-list">
            {live.map((share) => (
              <li key={share.grantId} data-testid="share-item" data-grant={share.grantId}>
                <span>
                  <strong>{share.role === 'read' ? 'Read' : 'Read and write'}</strong>
                  <span className="share-meta">
                    {' '}
                    · created {relativeTime(share.createdAt, now)}
                    {share.expiresAt === null
                      ? ' · never expires'
                      : share.expiresAt <= now
                        ? ' · expired'
                        : ` · expires ${new Date(share.expiresAt).toLocaleString()}`}
                  </span>
                </span>
                <button
                  type="button"
                  className="button subtle"
                  data-testid="share-revoke"
                  onClick={() => void revoke(share.grantId)}
                >
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
