import type { DocSource } from '@lattice/replication';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { noteDocName } from './ids.ts';
import { NoteStore, SEARCH_META_KEY, TOUCH_INTERVAL_MS } from './NoteStore.ts';
import { CountingDocSource, exchange, MemoryDocSource, transfer } from './testing/index.ts';

const W = 'w1';
let clock = 1_000;
const now = () => ++clock;
const stores: NoteStore[] = [];

async function openStore(source: DocSource = new MemoryDocSource()) {
  const store = await NoteStore.open({ workspaceId: W, source, now });
  stores.push(store);
  return store;
}

async function replica() {
  const source = new MemoryDocSource();
  return { source, store: await openStore(source) };
}

async function bodyOf(source: MemoryDocSource, id: string): Promise<string> {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, await source.readStored(noteDocName(W, id)));
  return doc.getText('body').toString();
}

/** Counts transactions on `doc` that changed something and came from this replica. */
function countLocalWrites(doc: Y.Doc): () => number {
  let writes = 0;
  doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
    if (tr.local) writes++;
  });
  return () => writes;
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('NoteStore', () => {
  it('creates nothing when opening an empty workspace', async () => {
    const source = new MemoryDocSource();
    const store = await openStore(source);
    expect(store.list()).toEqual([]);
    expect(store.list({ trashed: true })).toEqual([]);
    await store.whenIndexed();
    store.close();
    expect(source.storedDocNames()).toEqual([]);
    expect(source.metaKeys()).toEqual([]);
  });

  it('creates notes and lists them newest first', async () => {
    const { source, store } = await replica();
    const a = await store.create({ title: 'First', body: 'Alpha   body\n\ntext' });
    const b = await store.create({ title: 'Second' });
    const c = await store.create();
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(store.list().map((n) => n.id)).toEqual([c, b, a]);
    const first = store.get(a);
    expect(first).toMatchObject({ id: a, title: 'First', snippet: 'Alpha body text' });
    expect(first?.trashedAt).toBeNull();
    expect(first?.createdAt).toBe(first?.updatedAt);
    expect(await bodyOf(source, a)).toBe('Alpha   body\n\ntext');
    expect(source.isTracked(noteDocName(W, a))).toBe(true);
    expect(store.get('nope')).toBeUndefined();
  });

  it('renames with a minimal edit and moves the note up', async () => {
    const { store } = await replica();
    const a = await store.create({ title: 'Groceries' });
    const b = await store.create({ title: 'Other' });
    const writes = countLocalWrites(store.indexDoc);
    store.rename(a, 'Groceries for Monday');
    expect(store.get(a)?.title).toBe('Groceries for Monday');
    expect(store.list().map((n) => n.id)).toEqual([a, b]);
    store.rename(a, 'Groceries for Monday'); // unchanged: no write
    expect(writes()).toBe(1);
  });

  it('merges concurrent renames instead of dropping one', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'Plan' });
    exchange(one.source, two.source);
    one.store.rename(id, 'Plan trip');
    two.store.rename(id, 'Big Plan');
    exchange(one.source, two.source);
    expect(one.store.get(id)?.title).toBe('Big Plan trip');
    expect(two.store.get(id)?.title).toBe('Big Plan trip');
  });

  it('edits a body and bumps updatedAt for local edits only', async () => {
    const one = await replica();
    const two = await replica();
    const a = await one.store.create({ title: 'A', body: 'hello' });
    const b = await one.store.create({ title: 'B' });
    exchange(one.source, two.source);
    const before = one.store.get(a)?.updatedAt ?? 0;
    await one.store.edit(a, (body) => body.insert(5, ' world'));
    // The list is fresh at once, before the throttled index write.
    const after = one.store.get(a)?.updatedAt ?? 0;
    expect(after).toBeGreaterThan(before);
    expect(one.store.list().map((n) => n.id)).toEqual([a, b]);
    expect(one.store.get(a)?.snippet).toBe('hello world');
    await tick();
    expect(one.store.indexDoc.getMap('notes').toJSON()[a].updatedAt).toBe(after);

    const remoteWrites = countLocalWrites(two.store.indexDoc);
    exchange(one.source, two.source);
    await two.store.whenIndexed();
    await tick();
    expect(two.store.get(a)?.updatedAt).toBe(after);
    expect(two.store.get(a)?.snippet).toBe('hello world');
    expect(two.store.list().map((n) => n.id)).toEqual([a, b]);
    expect(remoteWrites()).toBe(0);
  });

  it('writes updatedAt at most once per interval while typing', async () => {
    const { store } = await replica();
    const id = await store.create({ title: 'T' });
    const writes = countLocalWrites(store.indexDoc);
    const note = await store.openNote(id);
    const entry = () => store.indexDoc.getMap('notes').toJSON()[id];
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      note.body.insert(0, 'first ');
      await Promise.resolve();
      expect(writes()).toBe(1);
      for (let i = 0; i < 20; i++) {
        vi.advanceTimersByTime(TOUCH_INTERVAL_MS / 40);
        note.body.insert(note.body.length, `${i} `);
        await Promise.resolve();
      }
      const latest = store.get(id)?.updatedAt;
      expect(writes()).toBe(1);
      expect(entry().updatedAt).toBeLessThan(latest ?? 0);
      vi.advanceTimersByTime(TOUCH_INTERVAL_MS / 2);
      expect(writes()).toBe(2);
      expect(entry().updatedAt).toBe(latest);
      // Quiet for a whole interval: the next edit is written at once again.
      vi.advanceTimersByTime(TOUCH_INTERVAL_MS);
      note.body.insert(0, 'again ');
      await Promise.resolve();
      expect(writes()).toBe(3);
    } finally {
      vi.useRealTimers();
      note.release();
    }
  });

  it('treats typing into the handle title as a local edit', async () => {
    const { store } = await replica();
    const id = await store.create({ title: 'Draft' });
    const other = await store.create({ title: 'Other' });
    const note = await store.openNote(id);
    expect(note.title.toString()).toBe('Draft');
    expect(note.docName).toBe(noteDocName(W, id));
    expect(note.awareness.doc).toBe(note.doc);
    note.title.insert(5, ' 2');
    expect(store.get(id)?.title).toBe('Draft 2');
    expect(store.list().map((n) => n.id)).toEqual([id, other]);
    await tick();
    store.flush();
    expect(store.indexDoc.getMap('notes').toJSON()[id].updatedAt).toBe(store.get(id)?.updatedAt);
    note.release();
  });

  it('shares one doc between handles of a note', async () => {
    const { source, store } = await replica();
    const id = await store.create({ body: 'x' });
    const [h1, h2] = await Promise.all([store.openNote(id), store.openNote(id)]);
    expect(h1.doc).toBe(h2.doc);
    h1.release();
    h1.release();
    expect(source.isOpen(noteDocName(W, id))).toBe(true);
    h2.release();
    expect(source.isOpen(noteDocName(W, id))).toBe(false);
  });

  it('trashes and restores without touching the body or updatedAt', async () => {
    const { source, store } = await replica();
    const a = await store.create({ title: 'A', body: 'keep me' });
    const b = await store.create({ title: 'B' });
    const updatedAt = store.get(a)?.updatedAt;
    store.trash(a);
    const trashedAt = store.get(a)?.trashedAt;
    expect(trashedAt).toBeTypeOf('number');
    expect(store.list().map((n) => n.id)).toEqual([b]);
    expect(store.list({ trashed: true }).map((n) => n.id)).toEqual([a]);
    store.trash(a); // already trashed: keeps the first time
    expect(store.get(a)?.trashedAt).toBe(trashedAt);
    expect(source.isTracked(noteDocName(W, a))).toBe(true);
    store.restore(a);
    expect(store.get(a)?.trashedAt).toBeNull();
    expect(store.get(a)?.updatedAt).toBe(updatedAt);
    expect(store.list().map((n) => n.id)).toEqual([b, a]);
    expect(await bodyOf(source, a)).toBe('keep me');
  });

  it('keeps edits made on one replica while the note was trashed on another', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'T', body: 'base' });
    exchange(one.source, two.source);
    one.store.trash(id);
    await two.store.edit(id, (body) => body.insert(4, ' edited elsewhere'));
    two.store.flush();
    exchange(two.source, one.source);
    for (const { source, store } of [one, two]) {
      expect(store.get(id)?.trashedAt).not.toBeNull();
      expect(await bodyOf(source, id)).toBe('base edited elsewhere');
      await store.whenIndexed();
      expect(store.search('elsewhere', { trashed: true }).map((h) => h.id)).toEqual([id]);
      expect(store.search('elsewhere')).toEqual([]);
    }
    two.store.restore(id);
    exchange(one.source, two.source);
    expect(one.store.list().map((n) => n.id)).toEqual([id]);
    expect(await bodyOf(one.source, id)).toBe('base edited elsewhere');
  });

  it('purges the entry, the stored note doc and the search entry, on every replica', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'Secret', body: 'classified words' });
    const keep = await one.store.create({ title: 'Keep', body: 'public words' });
    exchange(one.source, two.source);
    await one.store.whenIndexed();
    await one.store.purge(id);
    expect(one.store.get(id)).toBeUndefined();
    expect(one.store.list({ trashed: true })).toEqual([]);
    expect(one.source.storedDocNames()).toEqual([W, noteDocName(W, keep)]);
    expect(one.source.isTracked(noteDocName(W, id))).toBe(false);
    expect(one.store.search('classified')).toEqual([]);
    expect(one.store.search('words').map((h) => h.id)).toEqual([keep]);
    await expect(one.store.purge(id)).rejects.toThrow(/no note/);

    exchange(one.source, two.source);
    await tick();
    expect(two.store.get(id)).toBeUndefined();
    expect(two.source.storedDocNames()).toEqual([W, noteDocName(W, keep)]);
    await two.store.whenIndexed();
    expect(two.store.search('classified')).toEqual([]);

    one.store.close();
    const persisted = await one.source.getMeta(SEARCH_META_KEY);
    expect(new TextDecoder().decode(persisted)).not.toContain('classified');
  });

  it('searches titles and bodies incrementally', async () => {
    const { store } = await replica();
    const a = await store.create({ title: 'Recipes', body: 'Pancakes need flour and eggs.' });
    const b = await store.create({ title: 'Travel', body: 'Pack passport, flour for the cabin.' });
    await store.whenIndexed();
    expect(store.search('flour').map((h) => h.id)).toEqual([b, a]);
    expect(store.search('recip').map((h) => h.id)).toEqual([a]);
    expect(store.search('flour eggs').map((h) => h.id)).toEqual([a]);
    // A title hit outranks a body hit.
    await store.edit(b, (body) => body.insert(body.length, ' recipes?'));
    await store.whenIndexed();
    expect(store.search('recipes').map((h) => h.id)).toEqual([a, b]);

    await store.edit(a, (body) => {
      body.delete(0, body.length);
      body.insert(0, 'Waffles with butter');
    });
    await store.whenIndexed();
    expect(store.search('waffles').map((h) => h.id)).toEqual([a]);
    expect(store.search('eggs')).toEqual([]);
    expect(store.search('flour', { limit: 1 }).map((h) => h.id)).toEqual([b]);
    const hit = store.search('butter')[0];
    expect(hit).toMatchObject({ id: a, title: 'Recipes', snippet: 'Waffles with butter' });
    expect(hit?.score).toBeGreaterThan(0);
    store.rename(b, 'Trip');
    expect(store.search('trip').map((h) => h.id)).toEqual([b]);
  });

  it('indexes a note while it is open, from its live doc', async () => {
    const counting = new CountingDocSource(new MemoryDocSource());
    const store = await openStore(counting);
    const id = await store.create({ title: 'Live', body: 'draft' });
    await store.whenIndexed();
    counting.reset();
    const note = await store.openNote(id);
    note.body.insert(5, ' typed words');
    expect(store.get(id)?.snippet).toBe('draft typed words');
    await store.whenIndexed();
    expect(store.search('typed').map((h) => h.id)).toEqual([id]);
    expect(counting.count('readStored')).toBe(0);
    note.release();
  });

  it('drops a note purged elsewhere while it is open here', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'Gone', body: 'soon gone' });
    exchange(one.source, two.source);
    const note = await two.store.openNote(id);
    await one.store.purge(id);
    exchange(one.source, two.source);
    await tick();
    expect(two.store.get(id)).toBeUndefined();
    expect(two.source.storedDocNames()).toEqual([W]);
    note.release();
    await expect(two.store.openNote(id)).rejects.toThrow(/no note/);
  });

  it('indexes notes that arrive from another replica', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'Remote', body: 'from far away' });
    let notified = 0;
    two.store.subscribe(() => notified++);
    exchange(one.source, two.source);
    await two.store.whenIndexed();
    expect(two.store.search('far').map((h) => h.id)).toEqual([id]);
    expect(two.store.get(id)?.snippet).toBe('from far away');
    expect(notified).toBeGreaterThan(0);
    await one.store.edit(id, (body) => body.insert(0, 'news '));
    exchange(one.source, two.source);
    await two.store.whenIndexed();
    expect(two.store.search('news').map((h) => h.id)).toEqual([id]);
  });

  it('reuses the persisted search index on reopen and re-reads only changed notes', async () => {
    const source = new MemoryDocSource();
    const first = await openStore(source);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await first.create({ title: `Note ${i}`, body: `body number${i} common` }));
    }
    await first.whenIndexed();
    first.close();

    const counting = new CountingDocSource(source);
    const second = await openStore(counting);
    await second.whenIndexed();
    expect(counting.count('readStored')).toBe(0);
    expect(counting.calls('open')).toEqual([W]);
    expect(second.search('common')).toHaveLength(5);
    expect(second.search('number3').map((h) => h.id)).toEqual([ids[3]]);
    expect(second.get(ids[2] ?? '')?.snippet).toBe('body number2 common');

    // A change arriving from another replica re-reads that one note only.
    const other = await replica();
    exchange(source, other.source);
    await other.store.edit(ids[1] ?? '', (body) => body.insert(0, 'fresh '));
    exchange(source, other.source);
    await second.whenIndexed();
    expect(counting.calls('readStored')).toEqual([noteDocName(W, ids[1] ?? '')]);
    expect(second.search('fresh').map((h) => h.id)).toEqual([ids[1]]);
  });

  it('re-reads on start-up the notes that changed while it was closed', async () => {
    const one = await replica();
    const two = await replica();
    const a = await one.store.create({ title: 'A', body: 'alpha' });
    const b = await one.store.create({ title: 'B', body: 'beta' });
    exchange(one.source, two.source);
    await one.store.whenIndexed();
    one.store.close();
    await two.store.edit(b, (body) => body.insert(4, ' gamma'));
    two.store.flush();
    // Delivered to storage while no store was running (e.g. by a background sync).
    for (const name of [W, noteDocName(W, a), noteDocName(W, b)]) {
      one.source.applyUpdate(name, two.source.encodeDiff(name, one.source.stateVector(name)));
    }
    const counting = new CountingDocSource(one.source);
    const reopened = await openStore(counting);
    await reopened.whenIndexed();
    expect(counting.calls('readStored')).toEqual([noteDocName(W, b)]);
    expect(reopened.search('gamma').map((h) => h.id)).toEqual([b]);
  });

  it('rebuilds an unreadable persisted index', async () => {
    const source = new MemoryDocSource();
    const first = await openStore(source);
    const id = await first.create({ title: 'T', body: 'rebuilt content' });
    await first.whenIndexed();
    first.close();
    await source.setMeta(SEARCH_META_KEY, new Uint8Array([1, 200, 200]));
    const second = await openStore(source);
    await second.whenIndexed();
    expect(second.search('rebuilt').map((h) => h.id)).toEqual([id]);
  });

  it('indexes a note created elsewhere before its body arrives', async () => {
    const one = await replica();
    const two = await replica();
    const id = await one.store.create({ title: 'Late', body: 'late body' });
    // Only the index doc reaches the other replica at first.
    two.source.applyUpdate(W, one.source.encodeDiff(W, two.source.stateVector(W)));
    await two.store.whenIndexed();
    expect(two.store.get(id)?.snippet).toBe('');
    expect(two.source.isTracked(noteDocName(W, id))).toBe(true);
    transfer(one.source, two.source);
    await two.store.whenIndexed();
    expect(two.store.get(id)?.snippet).toBe('late body');
  });

  it('notifies subscribers after changes, batched', async () => {
    const { store } = await replica();
    const id = await store.create({ title: 'x' });
    await tick();
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.rename(id, 'y');
    store.trash(id);
    await tick();
    expect(calls).toBe(1);
    off();
    store.restore(id);
    await tick();
    expect(calls).toBe(1);
  });

  it('returns a stable, frozen list until something changes', async () => {
    const { store } = await replica();
    await store.create({ title: 'x' });
    const list = store.list();
    expect(store.list()).toBe(list);
    expect(Object.isFrozen(list)).toBe(true);
    await store.create({ title: 'y' });
    expect(store.list()).not.toBe(list);
  });

  it('rejects bad input with clear errors and changes nothing', async () => {
    const { source, store } = await replica();
    const id = await store.create({ title: 'ok', body: 'body' });
    const before = Y.encodeStateAsUpdate(store.indexDoc);
    expect(() => store.rename('missing', 'x')).toThrow(/no note "missing"/);
    expect(() => store.rename(id, 42 as unknown as string)).toThrow(TypeError);
    expect(() => store.trash('missing')).toThrow(/no note/);
    expect(() => store.restore('missing')).toThrow(/no note/);
    await expect(store.openNote('missing')).rejects.toThrow(/no note/);
    await expect(store.edit('missing', () => {})).rejects.toThrow(/no note/);
    await expect(store.create({ title: 7 as unknown as string })).rejects.toThrow(TypeError);
    expect(() => store.search('x', { limit: -1 })).toThrow(RangeError);
    expect(Y.encodeStateAsUpdate(store.indexDoc)).toEqual(before);
    await expect(NoteStore.open({ workspaceId: 'a/b', source })).rejects.toThrow(/workspaceId/);
    store.close();
    expect(() => store.rename(id, 'x')).toThrow(/closed/);
    await expect(store.create()).rejects.toThrow(/closed/);
  });

  it('skips malformed index entries written by a faulty peer', async () => {
    const { store } = await replica();
    const id = await store.create({ title: 'fine' });
    store.indexDoc.transact(() => {
      store.indexDoc.getMap('notes').set('junk', 'not an entry');
    });
    expect(store.list().map((n) => n.id)).toEqual([id]);
    expect(() => store.trash('junk')).toThrow(/no note/);
  });

  it('untracks every note and releases its docs on close', async () => {
    const { source, store } = await replica();
    const id = await store.create({ body: 'b' });
    const note = await store.openNote(id);
    store.close();
    expect(source.isTracked(noteDocName(W, id))).toBe(false);
    expect(source.isOpen(noteDocName(W, id))).toBe(false);
    expect(source.isOpen(W)).toBe(false);
    note.release(); // after close: harmless
  });
});
