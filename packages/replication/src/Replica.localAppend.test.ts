import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Replica } from './Replica.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const DOC = 'w/typed';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
});

/** MemoryStorage that records each append's entries and can hold appends until released. */
class WatchedStorage extends MemoryStorage {
  readonly appends: Uint8Array[][] = [];
  #gate: Promise<void> | null = null;
  #open: () => void = () => {};

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#gate = null;
    this.#open();
  }

  override async append(
    docName: string,
    updates: readonly Uint8Array[],
    summary?: Uint8Array,
  ): Promise<void> {
    if (docName === DOC) this.appends.push([...updates]);
    await this.#gate;
    await super.append(docName, updates, summary);
  }
}

function replica(storage: MemoryStorage): Replica {
  const r = new Replica({ storage, relays: [] });
  cleanup.push(() => r.destroy());
  return r;
}

/** What a replica opening `storage` afresh shows of the doc. */
async function reopened(storage: MemoryStorage): Promise<Y.Doc> {
  const r = replica(storage);
  const handle = await r.open(DOC);
  return handle.doc;
}

function sameState(a: Y.Doc, b: Y.Doc): boolean {
  return Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b));
}

describe('Replica: storing local updates', () => {
  it('stores the keystrokes of one tick as one update, the same state as every keystroke', async () => {
    const storage = new WatchedStorage();
    const r = replica(storage);
    const handle = await r.open(DOC);
    const text = handle.doc.getText('body');
    text.insert(0, 'hello world');
    await r.readStored(DOC);
    storage.appends.length = 0;
    for (let i = 0; i < 100; i++) text.insert(5 + i, 'x'); // one transaction each, one tick
    text.delete(0, 3);
    await r.readStored(DOC);
    expect(storage.appends).toHaveLength(1);
    expect(storage.appends[0]).toHaveLength(1);
    await r.destroy();
    const again = await reopened(storage);
    expect(again.getText('body').toString()).toBe(text.toString());
    expect(sameState(again, handle.doc)).toBe(true);
  });

  it('stores every update when a local transaction carried another client’s structs', async () => {
    const storage = new WatchedStorage();
    const r = replica(storage);
    const handle = await r.open(DOC);
    const other = new Y.Doc();
    other.getText('body').insert(0, 'abc');
    const text = handle.doc.getText('body');
    text.insert(0, 'x');
    // Applied without an origin the replica knows: a local change holding other's structs.
    handle.doc.transact(() => Y.applyUpdate(handle.doc, Y.encodeStateAsUpdate(other)));
    text.insert(0, 'y');
    await r.readStored(DOC);
    expect(storage.appends.flat()).toHaveLength(3);
    await r.destroy();
    const again = await reopened(storage);
    expect(sameState(again, handle.doc)).toBe(true);
  });

  it('keeps the relay’s updates that were buffered between local keystrokes', async () => {
    const w = new ReplicaWorld();
    cleanup.push(() => w.close());
    const storage = new WatchedStorage();
    const a = w.replica({ storage });
    const b = w.replica();
    const ha = await a.open(DOC);
    const hb = await b.open(DOC);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    const textA = ha.doc.getText('body');
    storage.hold();
    textA.insert(0, 'a'); // its append waits at the gate; the rest piles up behind it
    await new Promise((r) => setTimeout(r, 10));
    textA.insert(1, 'b');
    hb.doc.getText('body').insert(0, 'REMOTE');
    const deadline = performance.now() + 5000;
    while (!textA.toString().includes('REMOTE')) {
      if (performance.now() > deadline) throw new Error('remote update never arrived');
      await new Promise((r) => setTimeout(r, 5));
    }
    textA.insert(textA.length, 'c');
    textA.insert(textA.length, 'd');
    storage.release();
    await a.readStored(DOC);
    // The buffered append: the relay's update as it came, A's three keystrokes as one.
    const last = storage.appends.at(-1) as Uint8Array[];
    expect(last).toHaveLength(2);
    await a.destroy();
    const again = await reopened(storage);
    expect(again.getText('body').toString()).toBe(textA.toString());
    expect(sameState(again, ha.doc)).toBe(true);
  });
});
