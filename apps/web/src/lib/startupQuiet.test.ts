import type { SyncStatus } from '@lattice/replication';
import { describe, expect, it } from 'vitest';
import { type QuietReplica, type QuietSource, whenStartupQuiet } from './startupQuiet.ts';

/** A replica whose status and progress the test sets. */
class FakeReplica implements QuietReplica {
  status: SyncStatus = { state: 'connecting', pendingLocal: false };
  progress = { synced: 0, total: 0 };
  readonly #listeners = new Set<() => void>();
  get listeners(): number {
    return this.#listeners.size;
  }
  onStatus(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(state: SyncStatus['state'], synced: number, total: number): void {
    this.status = { state, pendingLocal: false };
    this.progress = { synced, total };
    for (const listener of this.#listeners) listener();
  }
}

/** The controller's side: which replica is open, or that opening failed. */
class FakeSource implements QuietSource {
  value: QuietReplica | null | 'failed' = null;
  readonly #listeners = new Set<() => void>();
  get listeners(): number {
    return this.#listeners.size;
  }
  current() {
    return this.value;
  }
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(value: QuietReplica | null | 'failed'): void {
    this.value = value;
    for (const listener of this.#listeners) listener();
  }
}

/** Timers the test fires by hand. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    set: (fn: () => void) => {
      pending.set(next, fn);
      return next++;
    },
    clear: (handle: unknown) => pending.delete(handle as number),
    fireAll: () => {
      for (const [id, fn] of [...pending]) {
        pending.delete(id);
        fn();
      }
    },
    get size() {
      return pending.size;
    },
  };
}

/** Whether `promise` has settled by the time queued microtasks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

describe('whenStartupQuiet', () => {
  it('waits while a fresh device syncs, held background docs included, and resolves once every doc is in', async () => {
    const source = new FakeSource();
    const replica = new FakeReplica();
    const timers = manualTimers();
    const quiet = whenStartupQuiet(source, 10_000, timers);
    expect(await settled(quiet)).toBe(false);
    source.set(replica);
    replica.set('syncing', 0, 1);
    expect(await settled(quiet)).toBe(false);
    // The index doc is in; 1,000 notes are still held for the first screen (counted in total).
    replica.set('syncing', 1, 1001);
    expect(await settled(quiet)).toBe(false);
    replica.set('syncing', 600, 1001);
    expect(await settled(quiet)).toBe(false);
    replica.set('synced', 1001, 1001);
    expect(await settled(quiet)).toBe(true);
    // Nothing left watching: no listener, no timer.
    expect(replica.listeners).toBe(0);
    expect(source.listeners).toBe(0);
    expect(timers.size).toBe(0);
  });

  it('does not take a connected replica with nothing subscribed yet for a synced one', async () => {
    const source = new FakeSource();
    const replica = new FakeReplica();
    replica.set('synced', 0, 0);
    source.set(replica);
    const quiet = whenStartupQuiet(source, 10_000, manualTimers());
    expect(await settled(quiet)).toBe(false);
    replica.set('synced', 1, 1);
    expect(await settled(quiet)).toBe(true);
  });

  it('resolves at once when the replica cannot sync (no relay) or opening failed', async () => {
    const offline = new FakeSource();
    const replica = new FakeReplica();
    replica.set('offline', 0, 1);
    offline.set(replica);
    expect(await settled(whenStartupQuiet(offline, 10_000, manualTimers()))).toBe(true);

    const failing = new FakeSource();
    const quiet = whenStartupQuiet(failing, 10_000, manualTimers());
    expect(await settled(quiet)).toBe(false);
    failing.set('failed');
    expect(await settled(quiet)).toBe(true);
  });

  it('follows the workspace that is open now, and gives up waiting at the cap', async () => {
    const source = new FakeSource();
    const first = new FakeReplica();
    const second = new FakeReplica();
    const timers = manualTimers();
    const quiet = whenStartupQuiet(source, 10_000, timers);
    source.set(first);
    first.set('syncing', 0, 3);
    source.set(second);
    expect(first.listeners).toBe(0);
    // The replaced workspace's progress no longer counts.
    first.set('synced', 3, 3);
    expect(await settled(quiet)).toBe(false);
    second.set('syncing', 1, 5);
    timers.fireAll();
    expect(await settled(quiet)).toBe(true);
    expect(second.listeners).toBe(0);
  });
});
