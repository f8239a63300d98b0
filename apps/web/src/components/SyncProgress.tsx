import type { Replica, SyncStatus } from '@lattice/replication';
import { useSyncProgress } from '../hooks/useSyncProgress.ts';

interface Props {
  replica: Replica;
  status: SyncStatus;
}

/** A progress bar while the workspace's docs finish their first exchange with the relay. */
export function SyncProgress({ replica, status }: Props) {
  const { synced, total } = useSyncProgress(replica);
  // Only once connected: while connecting, nothing is being exchanged yet and the bar would flicker on every retry.
  if (status.state !== 'syncing' || total === 0 || synced >= total) return null;
  return (
    <div className="sync-progress" data-testid="sync-progress">
      <progress max={total} value={synced} aria-label="Notes synced" />
      <span>
        Syncing notes… {synced} of {total}
      </span>
    </div>
  );
}
