import type { DocSource } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { noteDocName } from './ids.ts';
import { EntryKey, NOTES_MAP } from './indexEntry.ts';
import { NoteStore, SEARCH_META_KEY } from './NoteStore.ts';
import { SearchIndex } from './SearchIndex.ts';
import { CountingDocSource, exchange, MemoryDocSource, readNoteNaively } from './testing/index.ts';

const W = 'w1';
let clock = 1_000;
const now = () => ++clock;
const stores: NoteStore[] = [];

async function replica<S extends DocSource = MemoryDocSource>(
  source: S = new MemoryDocSource() as unknown as S,
) {
  const store = await NoteStore.open({ workspaceId: W, source, now });
  stores.push(store);
  return { source, store };
}

/** Sends `to` what it lacks of one doc only (the network delivered that doc, not the others). */
function deliver(from: MemoryDocSource, to: MemoryDocSource, docName: string): void {
  to.applyUpdate(docName, from.encodeDiff(docName, to.stateVector(docName)));
}

/** Whether `promise` has settled after the current macrotask queue drained. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('NoteStore: notes still arriving', () => {
  it('an index entry whose note doc has not arrived is "arriving", never an empty note (reading the body naively shows it empty)', async () => {
    const a = await replica();
    const b = await replica();
    const id = await a.store.create({ title: 'Plan', body: 'step one' });
    deliver(a.source, b.source, W); // the index doc only

    const summary = b.store.get(id);
    expect(summary).toMatchObject({ title: 'Plan', arriving: true });
    expect(await readNoteNaively(b.source, W, id)).toBe('');
    expect(a.store.get(id)?.arriving).toBe(false);

    const handle = await b.store.openNote(id);
    expect(handle.arriving).toBe(true);
    expect(handle.body.toString()).toBe('');
    const arrived = handle.whenArrived();
    expect(await settled(arrived)).toBe(false);

    deliver(a.source, b.source, noteDocName(W, id));
    await arrived;
    expect(handle.arriving).toBe(false);
    expect(handle.body.toString()).toBe('step one');
    expect(b.store.get(id)?.arriving).toBe(false);
    handle.release();
  });

  it('keeps an edit made while the note was arriving when the rest arrives', async () => {
    const a = await replica();
    const b = await replica();
    const id = await a.store.create({ title: 'Shared', body: 'from A' });
    deliver(a.source, b.source, W);
    const handle = await b.store.openNote(id);
    expect(handle.arriving).toBe(true);
    handle.body.insert(0, 'B was here. ');

    deliver(a.source, b.source, noteDocName(W, id));
    expect(handle.arriving).toBe(false);
    // Both inserted at 0 concurrently: their order depends on client ids, never on loss.
    const merged = handle.body.toString();
    expect([merged.replace('B was here. ', ''), merged.replace('from A', '')].sort()).toEqual([
      'B was here. ',
      'from A',
    ]);
    handle.release();
    exchange(a.source, b.source);
    const onA = await a.store.openNote(id);
    expect(onA.body.toString()).toBe(merged);
    onA.release();
  });

  it('a note synced in the background turns from arriving to ready in the list once its doc is stored', async () => {
    const a = await replica();
    const b = await replica();
    const id = await a.store.create({ title: 'Background', body: 'quietly synced' });
    deliver(a.source, b.source, W);
    expect(b.store.list().map((n) => [n.id, n.arriving])).toEqual([[id, true]]);
    let notified = 0;
    b.store.subscribe(() => notified++);

    deliver(a.source, b.source, noteDocName(W, id));
    await b.store.whenIndexed();
    expect(b.store.list().map((n) => [n.id, n.arriving, n.snippet])).toEqual([
      [id, false, 'quietly synced'],
    ]);
    expect(notified).toBeGreaterThan(0);
  });

  it('indexing a note whose body has not arrived keeps nothing for it; the body indexes it when it comes', async () => {
    const a = await replica();
    const memory = new MemoryDocSource();
    const b = await replica(new CountingDocSource(memory));
    const id = await a.store.create({ title: 'Later', body: 'comes with the doc' });
    deliver(a.source, memory, W);
    await b.store.whenIndexed();
    // Read once (nothing there), and no empty body recorded for it.
    expect(b.source.count('readStored', noteDocName(W, id))).toBe(1);
    b.store.close();
    const persisted = await b.source.getMeta(SEARCH_META_KEY);
    expect(SearchIndex.decode(persisted as Uint8Array, W).index.body(id)).toBeUndefined();

    const reopened = await replica(b.source);
    expect(reopened.store.get(id)?.arriving).toBe(true);
    deliver(a.source, memory, noteDocName(W, id));
    await reopened.store.whenIndexed();
    expect(reopened.store.get(id)).toMatchObject({
      arriving: false,
      snippet: 'comes with the doc',
    });
    expect(reopened.store.search('doc').map((h) => h.id)).toEqual([id]);
  });

  it('a rename depends on the body seen when renaming: the new title with the old body is arriving (naively: stale)', async () => {
    const a = await replica();
    const b = await replica();
    const id = await a.store.create({ title: 'Draft', body: 'v1' });
    exchange(a.source, b.source);
    await b.store.whenIndexed();
    expect(b.store.get(id)?.arriving).toBe(false);

    await a.store.edit(id, (body) => {
      body.delete(0, body.length);
      body.insert(0, 'v2 final');
    });
    a.store.rename(id, 'Final');
    deliver(a.source, b.source, W);
    expect(b.store.get(id)).toMatchObject({ title: 'Final', arriving: true });
    expect(await readNoteNaively(b.source, W, id)).toBe('v1');

    deliver(a.source, b.source, noteDocName(W, id));
    await b.store.whenIndexed();
    expect(b.store.get(id)).toMatchObject({ title: 'Final', arriving: false, snippet: 'v2 final' });
  });

  it('remembers what arrived across a restart without re-reading every note', async () => {
    const a = await replica();
    const source = new MemoryDocSource();
    const b = await replica(source);
    const ready = await a.store.create({ title: 'Ready', body: 'here' });
    const pending = await a.store.create({ title: 'Pending', body: 'not yet' });
    deliver(a.source, source, W);
    deliver(a.source, source, noteDocName(W, ready));
    await b.store.whenIndexed();
    b.store.close();

    const counting = new CountingDocSource(source);
    const again = await replica(counting);
    await again.store.whenIndexed();
    expect(again.store.get(ready)?.arriving).toBe(false);
    expect(again.store.get(pending)?.arriving).toBe(true);
    // Only the note still arriving was looked at again.
    expect(counting.calls('readStored')).toEqual([noteDocName(W, pending)]);
  });

  it('never holds back a note whose entry has no deps or deps it cannot read', async () => {
    const { source, store } = await replica();
    const id = await store.create({ title: 'Old writer', body: 'text' });
    const entry = store.indexDoc.getMap(NOTES_MAP).get(id) as Y.Map<unknown>;
    store.indexDoc.transact(() => entry.set(EntryKey.deps, 'not a vector'));
    expect(store.get(id)?.arriving).toBe(false);
    store.indexDoc.transact(() => entry.delete(EntryKey.deps));
    expect(store.get(id)?.arriving).toBe(false);
    // A vector naming state nobody has (a future writer) does hold it back.
    store.indexDoc.transact(() => entry.set(EntryKey.deps, Y.encodeStateVector(new Map([[7, 3]]))));
    expect(store.get(id)?.arriving).toBe(true);
    expect(source.storedDocNames()).toContain(noteDocName(W, id));
  });

  it('whenArrived rejects when the note is released, purged or the store closed first', async () => {
    const a = await replica();
    const b = await replica();
    const id = await a.store.create({ title: 'Never', body: 'arrives' });
    deliver(a.source, b.source, W);
    const handle = await b.store.openNote(id);
    const waiting = handle.whenArrived();
    handle.release();
    await expect(waiting).rejects.toThrow(/released/);
    await expect(handle.whenArrived()).rejects.toThrow(/no longer open/);

    const again = await b.store.openNote(id);
    const purged = again.whenArrived();
    await b.store.purge(id);
    await expect(purged).rejects.toThrow(/purged/);
  });
});
