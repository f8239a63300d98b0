import type { Replica, SyncStatus } from '@lattice/replication';
import { useEffect, useState } from 'react';

/** The workspace's live sync status. */
export function useSyncStatus(replica: Replica): SyncStatus {
  const [status, setStatus] = useState<SyncStatus>(() => ({ ...replica.status }));
  useEffect(() => {
    setStatus({ ...replica.status });
    // Copy: the replica may reuse one status object, and React needs a new one to re-render.
    return replica.onStatus((next) => setStatus({ ...next }));
  }, [replica]);
  return status;
}
