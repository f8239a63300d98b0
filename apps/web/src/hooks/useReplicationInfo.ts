import type {
  ClusterSummary,
  DocReplicationInfo,
  Replica,
  ReplicationInfo,
  SessionWarning,
} from '@lattice/replication';
import { useEffect, useState } from 'react';
import { throttle } from '../lib/throttle.ts';

/** The workspace's replication snapshot, re-read whenever the replica announces a change. */
export function useReplicationInfo(replica: Replica): ReplicationInfo {
  const [info, setInfo] = useState(() => replica.replicationInfo());
  useEffect(() => {
    setInfo(replica.replicationInfo());
    return replica.onStatus(() => setInfo(replica.replicationInfo()));
  }, [replica]);
  return info;
}

/** Per-doc replication snapshots for `docNames` (in that order), kept current like `useReplicationInfo`. */
export function useDocReplicationInfo(
  replica: Replica,
  docNames: readonly string[],
): DocReplicationInfo[] {
  // Doc names never hold control characters, so a newline-joined key is unambiguous.
  const key = docNames.join('\n');
  const [infos, setInfos] = useState(() => docNames.map((n) => replica.docReplicationInfo(n)));
  useEffect(() => {
    const names = key === '' ? [] : key.split('\n');
    const sample = () => setInfos(names.map((n) => replica.docReplicationInfo(n)));
    sample();
    return replica.onStatus(sample);
  }, [replica, key]);
  return infos;
}

/** At most this often (ms) do the summary hooks below recompute `replicationInfo()`. */
const SAMPLE_MS = 100;

/**
 * One part of `replicationInfo()`, re-sampled at most every `SAMPLE_MS` and
 * kept as the previous object while `same` says it did not change, so
 * watchers re-render only on a real change. `replicationInfo()` walks every
 * doc: while thousands of docs sync, status changes come per frame and
 * sampling each one was quadratic (issue 6, cold load). `select` and `same`
 * must be stable (module-level) functions.
 */
function useSampledInfo<T>(
  replica: Replica,
  select: (info: ReplicationInfo) => T,
  same: (a: T, b: T) => boolean,
): T {
  const [value, setValue] = useState(() => select(replica.replicationInfo()));
  useEffect(() => {
    const sample = () => {
      const next = select(replica.replicationInfo());
      setValue((previous) => (same(previous, next) ? previous : next));
    };
    sample();
    const throttled = throttle(sample, SAMPLE_MS);
    const unsubscribe = replica.onStatus(throttled.run);
    return () => {
      unsubscribe();
      throttled.cancel();
    };
  }, [replica, select, same]);
  return value;
}

const selectCluster = (info: ReplicationInfo): ClusterSummary => info.cluster;
const sameCluster = (a: ClusterSummary, b: ClusterSummary): boolean =>
  a.relaysHoldingAll === b.relaysHoldingAll && a.relaysKnown === b.relaysKnown;
const selectWarnings = (info: ReplicationInfo): SessionWarning[] => info.sessionWarnings;

/** "On N of M relays": re-renders only when one of the two numbers changes. */
export function useClusterSummary(replica: Replica): ClusterSummary {
  return useSampledInfo(replica, selectCluster, sameCluster);
}

/**
 * Only the session-guarantee warnings: re-renders when they change, not on
 * every heartbeat, so the whole workspace view can afford to watch them.
 */
export function useSessionWarnings(replica: Replica): SessionWarning[] {
  return useSampledInfo(replica, selectWarnings, sameWarnings);
}

function sameWarnings(a: SessionWarning[], b: SessionWarning[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (w, i) =>
        w.docName === b[i]?.docName &&
        w.guarantee === b[i]?.guarantee &&
        w.message === b[i]?.message,
    )
  );
}
