import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { decodeFrame, FrameType } from './protocol.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
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
      try {
        const decoded = decodeFrame(frame);
        if (decoded.type !== FrameType.Docs) return;
        for (const message of decoded.messages) sentFor.add(message.docName);
      } catch {
        // Not every frame decodes as docs; only doc traffic matters here.
      }
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

function textOf(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('body').toString();
}

const names = ['w/a', 'w/b', 'w/c', 'w/d'];

async function seed(w: ReplicaWorld): Promise<void> {
  for (const name of names) {
    const doc = new Y.Doc();
    doc.getText('body').insert(0, `text of ${name}`);
    await w.relayStorage.append(name, [Y.encodeStateAsUpdate(doc)]);
  }
}

describe('Replica.holdBackground', () => {
  it('syncs open docs at once and background docs only after the hold ends, never claiming them synced', async () => {
    const { w, sentFor } = world();
    await seed(w);
    const replica = w.replica();
    const release = replica.holdBackground();
    for (const name of names) replica.track(name);
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
    await seed(w);
    const replica = w.replica();
    const release = replica.holdBackground();
    for (const name of names) replica.track(name);
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
    await seed(w);
    const storage = new MemoryStorage();
    // An earlier session edited w/b offline and closed before the relay had it.
    w.network.setOnline(false);
    const earlier = w.replica({ storage });
    const edited = await earlier.open('w/b');
    edited.doc.getText('body').insert(0, 'offline ');
    await eventually(async () => textOf(await earlier.readStored('w/b')) !== '', 'stored');
    await earlier.destroy();
    w.network.setOnline(true);

    const replica = w.replica({ storage });
    const release = replica.holdBackground();
    for (const name of names) replica.track(name);
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
    await seed(w);
    const replica = w.replica();
    const release = replica.holdBackground();
    for (const name of names) replica.track(name);
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
