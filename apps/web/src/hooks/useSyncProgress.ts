import type { Replica } from '@lattice/replication';
import { useEffect, useState } from 'react';
import { perFrame } from '../lib/perFrame.ts';

/**
 * The initial-sync progress (`synced` of `total` docs); the Replica reports its
 * changes through `onStatus`, once per doc during a fresh device's sync, so the
 * bar follows at most once per frame (the first change at once).
 */
export function useSyncProgress(replica: Replica): { synced: number; total: number } {
  const [progress, setProgress] = useState(() => ({ ...replica.progress }));
  useEffect(() => {
    const apply = () =>
      setProgress((previous) => {
        const next = replica.progress;
        return previous.synced === next.synced && previous.total === next.total
          ? previous
          : { synced: next.synced, total: next.total };
      });
    const sample = perFrame(apply);
    apply();
    const off = replica.onStatus(sample);
    return () => {
      off();
      sample.cancel();
    };
  }, [replica]);
  return progress;
}
