import type { SyncStatus } from '@lattice/replication';

/** What `whenStartupQuiet` reads of the open workspace's replica. */
export interface QuietReplica {
  readonly status: SyncStatus;
  readonly progress: { synced: number; total: number };
  onStatus(listener: () => void): () => void;
}

/** Where the open workspace comes from (the app's `WorkspaceController`). */
export interface QuietSource {
  /** The open workspace's replica; null while none is open; `failed` once opening failed. */
  current(): QuietReplica | null | 'failed';
  subscribe(listener: () => void): () => void;
}

/**
 * Longest start-up may keep deferred work waiting: a workspace that never
 * syncs (a relay that stays silent) must not put it off for good.
 */
export const STARTUP_QUIET_MAX_MS = 10_000;

/**
 * Resolves once start-up has nothing left to fetch: a workspace is open and its
 * replica holds every doc it syncs (`synced`, progress complete — background
 * docs held for the first screen count as not yet synced), or it cannot sync
 * (`offline`: no relay, or refused), or opening failed; at the latest after
 * `maxMs`. For work that only matters later and would compete for the relay,
 * the network and the CPU with the first list and a fresh device's notes: the
 * service worker's precache, ~1.2 MB from the relay that is answering the index
 * doc (bench `coldload`, fresh device).
 */
export function whenStartupQuiet(
  source: QuietSource,
  maxMs = STARTUP_QUIET_MAX_MS,
  timers: {
    set: (fn: () => void, ms: number) => unknown;
    clear: (handle: unknown) => void;
  } = {
    set: (fn, ms) => setTimeout(fn, ms),
    clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  },
): Promise<void> {
  return new Promise((resolve) => {
    let watched: QuietReplica | null = null;
    let unwatch = () => {};
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      timers.clear(cap);
      unsubscribe();
      unwatch();
      resolve();
    };
    const cap = timers.set(finish, maxMs);
    const checkReplica = () => {
      if (watched === null) return;
      const { status, progress } = watched;
      const complete =
        status.state === 'synced' && progress.total > 0 && progress.synced >= progress.total;
      if (complete || status.state === 'offline') finish();
    };
    const check = () => {
      const current = source.current();
      if (current === 'failed') {
        finish();
        return;
      }
      if (current === watched) return;
      // Another workspace (or none): follow the one now open.
      unwatch();
      watched = current;
      unwatch = current === null ? () => {} : current.onStatus(checkReplica);
      checkReplica();
    };
    const unsubscribe = source.subscribe(check);
    check();
  });
}
