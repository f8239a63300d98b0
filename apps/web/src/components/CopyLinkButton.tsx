import { useEffect, useState } from 'react';

/** Copies the page's link (without dev query parameters) so the same workspace opens on another device. */
export function CopyLinkButton({ path }: { path: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = window.setTimeout(() => setCopied(false), 2000);
    return () => window.clearTimeout(timer);
  }, [copied]);
  const copy = async () => {
    const url = `${window.location.origin}${path}`;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      // No clipboard access (insecure origin, permission denied): let the person copy it by hand.
      window.prompt('Copy this link to open the workspace elsewhere:', url);
    }
  };
  return (
    <button type="button" className="button subtle" onClick={() => void copy()}>
      {copied ? 'Link copied' : 'Copy link'}
    </button>
  );
}
