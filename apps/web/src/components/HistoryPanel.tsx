import { useMemo, useState } from 'react';
import type * as Y from 'yjs';
import { useTextValue, useVersionContent, useVersionList } from '../hooks/useHistory.ts';
import { useNow } from '../hooks/useNow.ts';
import { relativeTime } from '../lib/relativeTime.ts';
import { restoreText, versionDiff } from '../lib/restoreText.ts';
import type { HistoryClient, VersionSummary } from '../workspace/HistoryClient.ts';
import './HistoryPanel.css';

/** Marks a restore's transaction (an ordinary edit otherwise: it syncs and can be undone by another restore). */
export const RESTORE_ORIGIN = Symbol('lattice-history-restore');

interface Props {
  /** The relay's history API; `null` when this workspace has no relay. */
  client: HistoryClient | null;
  noteId: string;
  body: Y.Text;
  title: Y.Text;
  readOnly: boolean;
  /** Sets the title with a minimal edit (`NoteStore.rename`). */
  onRename(title: string): void;
  onClose(): void;
}

const REASON: Record<VersionSummary['reason'], string> = {
  scheduled: '',
  purge: 'before delete',
  shutdown: 'relay restart',
};

function exactTime(at: number): string {
  return new Date(at).toLocaleString(undefined, {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}

/**
 * The open note's versions as the relay keeps them: time and authors, a
 * line diff of a version against the text now, and "Restore", which makes
 * the text (and title) read as that version through a minimal edit — later
 * work elsewhere in the note is kept, and the restore syncs like typing.
 */
export function HistoryPanel({ client, noteId, body, title, readOnly, onRename, onClose }: Props) {
  const [list, reload] = useVersionList(client, noteId);
  const [selected, setSelected] = useState<string | null>(null);
  const { content, error } = useVersionContent(client, noteId, selected);
  const current = useTextValue(body);
  const currentTitle = useTextValue(title);
  const [status, setStatus] = useState<string | null>(null);
  const now = useNow();
  const diff = useMemo(
    () => (content === null ? null : versionDiff(current, content.body)),
    [current, content],
  );
  const same =
    content !== null &&
    content.body === current &&
    (content.title === null || content.title === currentTitle);

  const restore = () => {
    if (content === null || readOnly) return;
    restoreText(body, content.body, RESTORE_ORIGIN);
    if (content.title !== null && content.title !== currentTitle) onRename(content.title);
    setStatus(`Restored the version from ${exactTime(content.at)}.`);
    reload();
  };

  return (
    <section className="history-panel" data-testid="history-panel" aria-label="Version history">
      <header className="history-header">
        <h2>History</h2>
        <button type="button" className="button subtle" onClick={reload} disabled={client === null}>
          Refresh
        </button>
        <button
          type="button"
          className="button subtle"
          aria-label="Close history"
          onClick={onClose}
        >
          Close
        </button>
      </header>
      {list.state === 'offline' ? (
        <p className="history-message" data-testid="history-offline">
          History needs a connection to a relay: versions are kept on the relay, not on this device.
        </p>
      ) : list.state === 'loading' ? (
        <p className="history-message">Loading versions…</p>
      ) : list.state === 'error' ? (
        <p className="history-message" role="alert">
          History could not be loaded: {list.message}
        </p>
      ) : list.versions.length === 0 ? (
        <p className="history-message" data-testid="history-empty">
          No versions yet. The relay keeps one a few minutes after changes.
        </p>
      ) : (
        <div className="history-body">
          <ol className="history-list" aria-label="Versions">
            {list.versions.map((version) => (
              <li key={version.id}>
                <button
                  type="button"
                  className="history-entry"
                  data-testid="history-entry"
                  data-version-id={version.id}
                  aria-pressed={selected === version.id}
                  onClick={() => {
                    setSelected(version.id);
                    setStatus(null);
                  }}
                >
                  <time dateTime={new Date(version.at).toISOString()} title={exactTime(version.at)}>
                    {relativeTime(version.at, now)} · {exactTime(version.at)}
                  </time>
                  <span className="history-authors" data-testid="history-authors">
                    {version.authors.length > 0 ? version.authors.join(', ') : 'Unknown author'}
                  </span>
                  {REASON[version.reason] ? (
                    <span className="history-reason">{REASON[version.reason]}</span>
                  ) : null}
                </button>
              </li>
            ))}
          </ol>
          <div className="history-detail">
            {selected === null ? (
              <p className="history-message">Pick a version to compare it with the note now.</p>
            ) : error !== null ? (
              <p className="history-message" role="alert">
                {error}
              </p>
            ) : content === null || diff === null ? (
              <p className="history-message">Loading the version…</p>
            ) : (
              <>
                <p className="history-legend">
                  <del>Only in the note now</del> <ins>Only in this version</ins>
                </p>
                <pre className="history-diff" data-testid="history-diff">
                  {diff.map((part, i) =>
                    part.kind === 'same' ? (
                      // biome-ignore lint/suspicious/noArrayIndexKey: parts have no identity but their order
                      <span key={i}>{part.text}</span>
                    ) : part.kind === 'now' ? (
                      // biome-ignore lint/suspicious/noArrayIndexKey: as above
                      <del key={i}>{part.text}</del>
                    ) : (
                      // biome-ignore lint/suspicious/noArrayIndexKey: as above
                      <ins key={i}>{part.text}</ins>
                    ),
                  )}
                </pre>
                <button
                  type="button"
                  className="button primary"
                  data-testid="history-restore"
                  disabled={readOnly || same}
                  onClick={restore}
                >
                  {same ? 'This is the current text' : 'Restore this version'}
                </button>
                {readOnly ? (
                  <p className="history-message">Read-only link: restoring needs write access.</p>
                ) : null}
              </>
            )}
            {status !== null ? (
              <p className="history-message" role="status" data-testid="history-status">
                {status}
              </p>
            ) : null}
          </div>
        </div>
      )}
    </section>
  );
}
