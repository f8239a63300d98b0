import type { Replica } from '@lattice/replication';
import { useEffect, useState } from 'react';

/** The initial-sync progress (`synced` of `total` docs); the Replica reports its changes through `onStatus`. */
export function useSyncProgress(replica: Replica): { synced: number; total: number } {
  const [progress, setProgress] = useState(() => ({ ...replica.progress }));
  useEffect(() => {
    const sample = () =>
      setProgress((previous) => {
        const next = replica.progress;
        return previous.synced === next.synced && previous.total === next.total
          ? previous
          : { synced: next.synced, total: next.total };
      });
    sample();
    return replica.onStatus(sample);
  }, [replica]);
  return progress;
}
