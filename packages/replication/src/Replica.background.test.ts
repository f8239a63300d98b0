import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Replica } from './Replica.ts';
import { textOf } from './relay/testing/roomMember.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { docMessagesIn } from './testing/docMessagesIn.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

/** A world that records which docs replicas send frames about. */
function world(): { w: ReplicaWorld; sentFor: Set<string> } {
  const sentFor = new Set<string>();
  const w = new ReplicaWorld({
    observe: (frame, direction) => {
      if (direction !== 'up') return;
      for (const message of docMessagesIn(frame)) sentFor.add(message.docName);
    },
  });
  worlds.push(w);
  return { w, sentFor };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 4000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const names = ['w/a', 'w/b', 'w/c', 'w/d'];

/** A replica of `w` that holds background sync, then tracks every seeded doc. */
function heldReplica(
  w: ReplicaWorld,
  options: Parameters<ReplicaWorld['replica']>[0] = {},
): { replica: Replica; release: () => void } {
  const replica = w.replica(options);
  const release = replica.holdBackground();
  for (const name of names) replica.track(name);
  return { replica, release };
}

describe('Replica.holdBackground', () => {
  it('syncs open docs at once and background docs only after the hold ends, never claiming them synced', async () => {
    const { w, sentFor } = world();
    await w.seedRelay(names);
    const { replica, release } = heldReplica(w);
    const open = await replica.open('w/a');
    await eventually(() => replica.docStatus('w/a').state === 'synced', 'the open doc synced');
    expect(open.doc.getText('body').toString()).toBe('text of w/a');

    // Held: nothing was asked for the background docs, and nothing claims they are synced.
    for (const name of ['w/b', 'w/c', 'w/d']) {
      expect(sentFor.has(name)).toBe(false);
      expect(textOf(await replica.readStored(name))).toBe('');
      expect(replica.docStatus(name).state).toBe('syncing');
    }
    expect(replica.status.state).toBe('syncing');
    expect(replica.progress).toEqual({ synced: 1, total: 4 });
    let synced = false;
    void replica.whenSynced().then(() => {
      synced = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(synced).toBe(false);

    release();
    release(); // idempotent
    await replica.whenSynced();
    expect(replica.progress).toEqual({ synced: 4, total: 4 });
    for (const name of names) {
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    }
    expect(w.errors).toEqual([]);
  });

  it('a doc opened during the hold syncs at once', async () => {
    const { w } = world();
    await w.seedRelay(names);
    const { replica, release } = heldReplica(w);
    await eventually(() => replica.status.state === 'syncing', 'connected');
    // Tracked (held) first, opened later: the open must not wait for the hold.
    const later = await replica.open('w/c');
    await eventually(() => later.doc.getText('body').toString() === 'text of w/c', 'w/c arrived');
    expect(replica.docStatus('w/b').state).toBe('syncing');
    release();
    await replica.whenSynced();
  });

  it('does not hold back a background doc with changes the relay has not acknowledged', async () => {
    const { w, sentFor } = world();
    await w.seedRelay(names);
    const storage = new MemoryStorage();
    // An earlier session edited w/b offline and closed before the relay had it.
    w.network.setOnline(false);
    const earlier = w.replica({ storage });
    const edited = await earlier.open('w/b');
    edited.doc.getText('body').insert(0, 'offline ');
    await eventually(async () => textOf(await earlier.readStored('w/b')) !== '', 'stored');
    await earlier.destroy();
    w.network.setOnline(true);

    const { replica, release } = heldReplica(w, { storage });
    // Resolves once the markers of earlier sessions were read and their changes acked.
    await replica.whenAcked();
    const atRelay = textOf(Y.mergeUpdates((await w.relayStorage.load('w/b')).updates));
    expect(atRelay).toContain('offline ');
    expect(sentFor.has('w/c')).toBe(false);
    release();
    await replica.whenSynced();
  });

  it('a later hold does not hold docs already subscribed, and a forgotten held doc is dropped', async () => {
    const { w } = world();
    await w.seedRelay(names);
    const { replica, release } = heldReplica(w);
    await eventually(() => replica.progress.total === 4, 'held docs counted');
    await replica.forget('w/d');
    await eventually(() => replica.progress.total === 3, 'forgotten doc no longer counted');
    release();
    await replica.whenSynced();
    expect(replica.progress).toEqual({ synced: 3, total: 3 });
    // Held again later: docs already synced stay subscribed and synced.
    const again = replica.holdBackground();
    replica.track('w/d');
    await eventually(() => replica.progress.total === 4, 'the new doc is held');
    expect(replica.docStatus('w/a').state).toBe('synced');
    expect(replica.status.state).toBe('syncing');
    again();
    await replica.whenSynced();
  });
});

describe('Replica background pacing (maxBackgroundInFlight)', () => {
  const many = Array.from({ length: 12 }, (_, i) => `w/p${String(i).padStart(2, '0')}`);

  /**
   * The relay holds each doc; `device` (a returning device's storage), when
   * given, an earlier version of it. Only docs a device already stores are paced.
   */
  async function seedMany(w: ReplicaWorld, device?: MemoryStorage, only = many): Promise<void> {
    for (const name of many) {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, 'text of ');
      if (device && only.includes(name)) await device.append(name, [Y.encodeStateAsUpdate(doc)]);
      doc.getText('body').insert(8, name);
      await w.relayStorage.append(name, [Y.encodeStateAsUpdate(doc)]);
    }
  }

  /** Records each doc's first upward message and whether the relay's step 2 came down. */
  function pacedWorld(onAsk?: (order: string[]) => void): {
    w: ReplicaWorld;
    order: string[];
    maxOutstanding: () => number;
  } {
    const order: string[] = [];
    const answered = new Set<string>();
    let maxOutstanding = 0;
    const w = new ReplicaWorld({
      observe: (frame, direction) => {
        for (const { docName, message } of docMessagesIn(frame)) {
          if (direction === 'down') {
            // A y-protocols SyncStep2: type 0, step 1.
            if (message[0] === 0 && message[1] === 1) answered.add(docName);
          } else if (!order.includes(docName)) {
            order.push(docName);
            // Asked for but not answered yet: a lower bound of the replica's in-flight set.
            const outstanding = order.filter((n) => !answered.has(n)).length;
            maxOutstanding = Math.max(maxOutstanding, outstanding);
            onAsk?.(order);
          }
        }
      },
    });
    worlds.push(w);
    return { w, order, maxOutstanding: () => maxOutstanding };
  }

  it('keeps at most the cap of background docs in flight, and claims synced only when all are', async () => {
    // Taken as each doc is asked for: queued docs count as syncing, nothing
    // claims the workspace synced early.
    let replica: Replica | undefined;
    const seen: string[] = [];
    const { w, maxOutstanding } = pacedWorld(() => {
      if (replica !== undefined) seen.push(`${replica.status.state} ${replica.progress.total}`);
    });
    const storage = new MemoryStorage();
    await seedMany(w, storage);
    replica = w.replica({ maxBackgroundInFlight: 2, storage });
    for (const name of many) replica.track(name);
    await replica.whenSynced();
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`syncing ${many.length}`]));
    expect(maxOutstanding()).toBeLessThanOrEqual(2);
    expect(replica.progress).toEqual({ synced: many.length, total: many.length });
    for (const name of many) {
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    }
    expect(w.errors).toEqual([]);
  });

  it('an opened doc goes ahead of the queued background docs', async () => {
    const { w, order } = pacedWorld();
    const storage = new MemoryStorage();
    await seedMany(w, storage);
    const replica = w.replica({ maxBackgroundInFlight: 1, storage });
    for (const name of many) replica.track(name);
    await eventually(() => order.length > 0, 'first background doc asked for');
    const last = many[many.length - 1]!;
    const opened = await replica.open(last);
    await eventually(() => opened.doc.getText('body').toString() === `text of ${last}`, 'opened');
    // Queued last, asked for among the first: it did not wait for the queue.
    expect(order.indexOf(last)).toBeLessThan(many.length / 2);
    await replica.whenSynced();
    expect(w.errors).toEqual([]);
  });

  it('frees the slots of a dropped connection: every doc still syncs after a reconnect', async () => {
    let dropped = false;
    // Cut the link while the first window is asked for and unanswered.
    const { w } = pacedWorld((order) => {
      if (order.length !== 2) return;
      queueMicrotask(() => {
        w.network.setOnline(false);
        dropped = true;
      });
    });
    const storage = new MemoryStorage();
    await seedMany(w, storage);
    const replica = w.replica({ maxBackgroundInFlight: 2, storage });
    for (const name of many) replica.track(name);
    await eventually(() => dropped && replica.status.state !== 'syncing', 'link dropped');
    expect(replica.progress.synced).toBeLessThan(many.length);
    w.network.setOnline(true);
    await replica.whenSynced();
    for (const name of many) {
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    }
  });

  it('does not pace docs the device has never stored (a fresh device asks for all at once)', async () => {
    // The status as the first background doc is asked for (taken then: a
    // fresh device's exchange can be over by the next poll).
    let replica: Replica | undefined;
    const states: string[] = [];
    const { w, maxOutstanding } = pacedWorld(() => {
      if (replica !== undefined) states.push(replica.status.state);
    });
    await seedMany(w);
    replica = w.replica({ maxBackgroundInFlight: 2 });
    for (const name of many) replica.track(name);
    await replica.whenSynced();
    expect(states[0]).toBe('syncing');
    // One window for the whole workspace: a cap of 2 would have kept this at 2.
    expect(maxOutstanding()).toBe(many.length);
    expect(replica.progress).toEqual({ synced: many.length, total: many.length });
    for (const name of many) {
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    }
    expect(w.errors).toEqual([]);
  });

  it('a device holding some docs paces those; new docs behind them keep the queue order', async () => {
    const { w, order, maxOutstanding } = pacedWorld();
    const storage = new MemoryStorage();
    const stored = many.slice(0, 6);
    await seedMany(w, storage, stored);
    const replica = w.replica({ maxBackgroundInFlight: 2, storage });
    for (const name of many) replica.track(name);
    await replica.whenSynced();
    // The new docs, queued behind the stored six, did not overtake them.
    expect(order.indexOf(many[6]!)).toBe(6);
    expect(maxOutstanding()).toBeLessThan(many.length);
    for (const name of many) {
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    }
    expect(w.errors).toEqual([]);
  });

  it('rejects a cap that is not a positive integer', () => {
    const { w } = pacedWorld();
    expect(() => w.replica({ maxBackgroundInFlight: 0 })).toThrow(TypeError);
    expect(() => w.replica({ maxBackgroundInFlight: 1.5 })).toThrow(TypeError);
  });
});
