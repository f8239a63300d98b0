import type { DocChangeListener, DocSource } from '@lattice/replication';
import { ReplicaWorld } from '@lattice/replication/testing';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { noteDocName } from './ids.ts';
import { NoteStore } from './NoteStore.ts';
import { CountingDocSource, MemoryDocSource } from './testing/index.ts';

const W = 'w1';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A source whose change notifications a test can also send itself. */
class HandOverSource extends CountingDocSource {
  #listeners = new Set<DocChangeListener>();

  override onDocChanged(listener: DocChangeListener): () => void {
    this.#listeners.add(listener);
    const off = this.inner.onDocChanged(listener);
    return () => {
      this.#listeners.delete(listener);
      off();
    };
  }

  emit(docName: string, stored?: Uint8Array): void {
    for (const listener of this.#listeners) listener(docName, stored);
  }
}

describe('NoteStore indexes the stored state handed over with a change', () => {
  it('a fresh replica indexes every arriving note without reading it back', async () => {
    const world = new ReplicaWorld();
    cleanups.push(() => world.close());
    const a = world.replica();
    const b = world.replica();
    const storeA = await NoteStore.open({ workspaceId: W, source: a });
    cleanups.push(() => storeA.close());
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(await storeA.create({ title: `Note ${i}`, body: `body number ${i} marmalade` }));
    }
    await a.whenSynced();

    const counting = new CountingDocSource(b);
    const storeB = await NoteStore.open({ workspaceId: W, source: counting });
    cleanups.push(() => storeB.close());
    await expect.poll(() => storeB.list().length, { timeout: 5000 }).toBe(ids.length);
    await b.whenSynced();
    await expect
      .poll(
        async () => {
          await storeB.whenIndexed();
          return storeB.list().filter((n) => n.arriving).length;
        },
        { timeout: 5000 },
      )
      .toBe(0);
    expect(counting.count('readStored')).toBe(0);
    expect(
      storeB
        .search('marmal')
        .map((h) => h.id)
        .sort(),
    ).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      expect(storeB.get(id)?.snippet).toBe(`body number ${i} marmalade`);
    }
  });

  it('a later change without the state voids what was handed over: the note is read back', async () => {
    const memory = new MemoryDocSource();
    const source = new HandOverSource(memory);
    const store = await NoteStore.open({ workspaceId: W, source: source as DocSource });
    cleanups.push(() => store.close());
    const id = await store.create({ title: 'T', body: 'old words' });
    await store.whenIndexed();
    const docName = noteDocName(W, id);
    const old = await memory.readStored(docName);

    // The old state is handed over, then a change the source reports without one.
    source.emit(docName, old);
    const handle = await memory.open(docName);
    handle.doc.transact(() => {
      const body = handle.doc.getText('body');
      body.delete(0, body.length);
      body.insert(0, 'new words');
    });
    handle.release();
    source.reset();
    await store.whenIndexed();

    expect(source.calls('readStored')).toEqual([docName]);
    expect(store.get(id)?.snippet).toBe('new words');
    expect(store.search('old')).toEqual([]);
  });

  it('tells subscribers about a batch of handed-over notes a few times, not once per note', async () => {
    const memory = new MemoryDocSource();
    const source = new HandOverSource(memory);
    const store = await NoteStore.open({ workspaceId: W, source: source as DocSource });
    cleanups.push(() => store.close());
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await store.create({ title: `N${i}`, body: `v1 ${i}` }));
    await store.whenIndexed();
    const states = new Map<string, Uint8Array>();
    for (const id of ids) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await memory.readStored(noteDocName(W, id)));
      doc.getText('body').insert(0, 'v2 ');
      states.set(id, Y.encodeStateAsUpdate(doc));
    }
    let told = 0;
    store.subscribe(() => told++);
    for (const [id, state] of states) source.emit(noteDocName(W, id), state);
    await store.whenIndexed();
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const [i, id] of ids.entries()) expect(store.get(id)?.snippet).toBe(`v2 v1 ${i}`);
    // Each telling re-sorts the list and moves the list snapshot's marker.
    expect(told).toBeGreaterThan(0);
    expect(told).toBeLessThan(10);
  });

  it('indexes a burst of arriving notes once it settles, and at once for whenIndexed', async () => {
    const memory = new MemoryDocSource();
    const source = new HandOverSource(memory);
    const store = await NoteStore.open({ workspaceId: W, source: source as DocSource });
    cleanups.push(() => store.close());
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await store.create({ title: `N${i}`, body: `one ${i}` }));
    await store.whenIndexed();
    const docs = new Map<string, Y.Doc>();
    for (const id of ids) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await memory.readStored(noteDocName(W, id)));
      docs.set(id, doc);
    }
    source.reset();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // A note arrives every 20 ms (a fresh device's first sync), each a new version.
    let round = 0;
    // Bodies name the note by its position: a random id may hold `_`, which
    // the snippet reads as Markdown emphasis.
    const arrive = () => {
      const at = round % ids.length;
      const id = ids[at] ?? '';
      const doc = docs.get(id) as Y.Doc;
      const body = doc.getText('body');
      body.delete(0, body.length);
      body.insert(0, `two ${at}`);
      round++;
      source.emit(noteDocName(W, id), Y.encodeStateAsUpdate(doc));
    };
    const burst = setInterval(arrive, 20);
    try {
      await sleep(400);
      // Well past the 150 ms debounce: still unindexed while notes keep arriving.
      expect(ids.map((id) => store.get(id)?.snippet)).toEqual(ids.map((_, i) => `one ${i}`));
      await store.whenIndexed();
      expect(ids.map((id) => store.get(id)?.snippet)).toEqual(ids.map((_, i) => `two ${i}`));
      for (const id of ids) docs.get(id)?.getText('body').insert(0, 'three ');
    } finally {
      clearInterval(burst);
    }
    for (const id of ids) {
      source.emit(noteDocName(W, id), Y.encodeStateAsUpdate(docs.get(id) as Y.Doc));
    }
    // Settled: indexed without anyone waiting for it.
    await expect
      .poll(() => ids.map((id) => store.get(id)?.snippet), { timeout: 2000, interval: 20 })
      .toEqual(ids.map((_, i) => `three two ${i}`));
    expect(source.count('readStored')).toBe(0);
  });

  it('uses the handed-over state instead of reading storage', async () => {
    const memory = new MemoryDocSource();
    const source = new HandOverSource(memory);
    const store = await NoteStore.open({ workspaceId: W, source: source as DocSource });
    cleanups.push(() => store.close());
    const id = await store.create({ title: 'T', body: 'first' });
    await store.whenIndexed();
    const docName = noteDocName(W, id);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, await memory.readStored(docName));
    doc.getText('body').insert(5, ' and second');
    source.reset();
    source.emit(docName, Y.encodeStateAsUpdate(doc));
    await store.whenIndexed();
    expect(source.count('readStored')).toBe(0);
    expect(store.get(id)?.snippet).toBe('first and second');
  });
});
