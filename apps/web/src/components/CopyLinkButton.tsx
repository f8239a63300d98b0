import { useEffect, useState } from 'react';
import { copyText } from '../lib/clipboard.ts';
import { withSessionFragment } from '../lib/sessionLink.ts';

interface Props {
  path: string;
  /**
   * What this session has read and written of the linked docs, as a token
   * (`Replica.exportSession`): the device that opens the link then never shows
   * them older than they are here. The link works without it.
   */
  sessionToken?: () => Promise<string>;
}

/** Copies the page's link (without dev query parameters) so the same workspace opens on another device. */
export function CopyLinkButton({ path, sessionToken }: Props) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    let url = `${window.location.origin}${path}`;
    try {
      if (sessionToken) url = withSessionFragment(url, await sessionToken());
    } catch (error) {
      console.warn('[lattice] link without a session record:', error);
    }
    if (await copyText(url, 'Copy this link to open the workspace elsewhere:')) setCopied(true);
  };
  return (
    <button
      type="button"
      className="button subtle"
      data-testid="copy-link"
      onClick={() => void copy()}
    >
      {copied ? 'Link copied' : 'Copy link'}
    </button>
  );
}
