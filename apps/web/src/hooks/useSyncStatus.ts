import type { Replica, SyncStatus } from '@lattice/replication';
import { useEffect, useState } from 'react';

/**
 * The workspace's live sync status. `onStatus` also fires on every progress
 * change (per doc during a fresh device's sync); the view re-renders only
 * when the status itself changes.
 */
export function useSyncStatus(replica: Replica): SyncStatus {
  const [status, setStatus] = useState<SyncStatus>(() => ({ ...replica.status }));
  useEffect(() => {
    // Copy: the replica may reuse one status object, and React needs a new one to re-render.
    const sample = (next: SyncStatus) =>
      setStatus((previous) =>
        previous.state === next.state && previous.pendingLocal === next.pendingLocal
          ? previous
          : { ...next },
      );
    sample(replica.status);
    return replica.onStatus(sample);
  }, [replica]);
  return status;
}
