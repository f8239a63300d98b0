import type { Replica, SyncStatus } from '@lattice/replication';
import { syncStatusText } from '../lib/syncStatusText.ts';

interface Props {
  replica: Replica;
  status: SyncStatus;
  relayCount: number;
}

/** "Is my work safe?" at a glance. Offline, a click retries at once instead of waiting out the backoff. */
export function SyncBadge({ replica, status, relayCount }: Props) {
  const text = syncStatusText(status, relayCount);
  const attributes = {
    className: 'sync-badge',
    'data-testid': 'sync-status',
    'data-state': status.state,
    'data-pending': String(status.pendingLocal),
    title: text.detail,
  };
  const content = (
    <>
      <span className="sync-dot" aria-hidden="true" />
      <span className="sync-label">{text.label}</span>
    </>
  );
  if (status.state === 'offline' && relayCount > 0) {
    return (
      <button type="button" {...attributes} onClick={() => replica.reconnect()}>
        {content}
      </button>
    );
  }
  return (
    <output {...attributes} aria-live="polite">
      {content}
    </output>
  );
}
