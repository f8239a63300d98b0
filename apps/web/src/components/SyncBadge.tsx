import type { Replica, SessionWarning, SyncStatus } from '@lattice/replication';
import { useClusterSummary } from '../hooks/useReplicationInfo.ts';
import { syncStatusText } from '../lib/syncStatusText.ts';

interface Props {
  replica: Replica;
  status: SyncStatus;
  relayCount: number;
  /** Session-guarantee warnings: something shown is older than what this session saw. */
  warnings?: readonly SessionWarning[];
}

/** "Is my work safe?" at a glance. Offline, a click retries at once instead of waiting out the backoff. */
export function SyncBadge({ replica, status, relayCount, warnings = [] }: Props) {
  const cluster = useClusterSummary(replica);
  const text = syncStatusText(status, relayCount, cluster);
  const first = warnings[0];
  const attributes = {
    className: 'sync-badge',
    'data-testid': 'sync-status',
    'data-state': status.state,
    'data-pending': String(status.pendingLocal),
    'data-warnings': warnings.length,
    'data-relays-holding': cluster.relaysHoldingAll,
    'data-relays-known': cluster.relaysKnown,
    title: first ? `${text.detail}\n${first.message}` : text.detail,
  };
  const content = (
    <>
      <span className="sync-dot" aria-hidden="true" />
      <span className="sync-label">
        {text.clusterCount ? (
          <>
            Saved <span data-testid="cluster-count">{text.clusterCount}</span>
          </>
        ) : (
          text.label
        )}
      </span>
      {first ? (
        <span className="sync-warning-mark" role="img" aria-label={first.message}>
          !
        </span>
      ) : null}
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
