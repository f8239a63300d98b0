import type { DocSource } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { noteDocName } from './ids.ts';
import { formatNoteLink } from './links/noteLinks.ts';
import { LINKS_META_KEY, NoteStore } from './NoteStore.ts';
import { CountingDocSource, exchange, MemoryDocSource } from './testing/index.ts';

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

const backlinkIds = (store: NoteStore, id: string) => store.backlinks(id).map((b) => b.id);

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

describe('NoteStore links', () => {
  it('lists the notes linking to a note, with their title and the linking line', async () => {
    const { store } = await replica();
    const target = await store.create({ title: 'Target' });
    const a = await store.create({
      title: 'A',
      body: `intro\nsee ${formatNoteLink(target, 'Target')} now`,
    });
    await store.create({ title: 'Unrelated', body: 'no links' });
    await store.whenIndexed();
    expect(store.backlinks(target)).toEqual([
      { id: a, title: 'A', snippet: 'see Target now', count: 1 },
    ]);
    expect(store.backlinks(a)).toEqual([]);
    expect(() => store.backlinks(7 as unknown as string)).toThrow(TypeError);
  });

  it('keeps links across renames of either side', async () => {
    const { store } = await replica();
    const target = await store.create({ title: 'Old name' });
    const source = await store.create({
      title: 'Source',
      body: formatNoteLink(target, 'Old name'),
    });
    await store.whenIndexed();
    store.rename(target, 'New name');
    store.rename(source, 'Renamed source');
    await store.whenIndexed();
    expect(store.backlinks(target)).toMatchObject([{ id: source, title: 'Renamed source' }]);
    expect(store.get(target)?.title).toBe('New name');
  });

  it('follows body edits: a link added, then removed', async () => {
    const { store } = await replica();
    const target = await store.create({ title: 'T' });
    const source = await store.create({ title: 'S', body: 'plain' });
    await store.whenIndexed();
    expect(backlinkIds(store, target)).toEqual([]);
    const link = formatNoteLink(target, 'T');
    await store.edit(source, (body) => body.insert(body.length, ` ${link}`));
    await store.whenIndexed();
    expect(backlinkIds(store, target)).toEqual([source]);
    let notified = 0;
    store.subscribe(() => notified++);
    await store.edit(source, (body) => body.delete(body.length - link.length, link.length));
    await store.whenIndexed();
    await Promise.resolve();
    expect(backlinkIds(store, target)).toEqual([]);
    expect(notified).toBeGreaterThan(0);
  });

  it('hides trashed sources and forgets purged ones; links to a purged note stay', async () => {
    const { store } = await replica();
    const target = await store.create({ title: 'T' });
    const source = await store.create({ title: 'S', body: formatNoteLink(target, 'T') });
    await store.whenIndexed();
    store.trash(source);
    expect(backlinkIds(store, target)).toEqual([]);
    store.restore(source);
    expect(backlinkIds(store, target)).toEqual([source]);
    await store.purge(target);
    // The source's body still links there; the editor shows it as broken.
    expect(backlinkIds(store, target)).toEqual([source]);
    await store.purge(source);
    expect(backlinkIds(store, target)).toEqual([]);
  });

  it('merges concurrent edits of one note adding links on two replicas', async () => {
    const one = await replica();
    const two = await replica();
    const t1 = await one.store.create({ title: 'T1' });
    const t2 = await one.store.create({ title: 'T2' });
    const source = await one.store.create({ title: 'S', body: 'start' });
    exchange(one.source, two.source);
    await one.store.edit(source, (body) => body.insert(0, `${formatNoteLink(t1, 'T1')} `));
    await two.store.edit(source, (body) =>
      body.insert(body.length, ` ${formatNoteLink(t2, 'T2')}`),
    );
    exchange(one.source, two.source);
    for (const { store } of [one, two]) {
      await store.whenIndexed();
      expect(backlinkIds(store, t1)).toEqual([source]);
      expect(backlinkIds(store, t2)).toEqual([source]);
    }
  });

  it('knows backlinks after a restart without reading any note doc', async () => {
    const source = new MemoryDocSource();
    const first = await openStore(source);
    const target = await first.create({ title: 'T' });
    const linking: string[] = [];
    for (let i = 0; i < 3; i++) {
      linking.push(
        await first.create({ title: `S${i}`, body: `${i} ${formatNoteLink(target, 'T')}` }),
      );
    }
    await first.whenIndexed();
    first.close();
    expect(await source.getMeta(LINKS_META_KEY)).toBeInstanceOf(Uint8Array);

    const counting = new CountingDocSource(source);
    const second = await openStore(counting);
    await second.whenIndexed();
    expect(counting.count('readStored')).toBe(0);
    expect(backlinkIds(second, target).sort()).toEqual([...linking].sort());
  });

  it('rebuilds the links of a workspace whose link index is missing or unreadable', async () => {
    const source = new MemoryDocSource();
    const first = await openStore(source);
    const target = await first.create({ title: 'T' });
    const linking = await first.create({ title: 'S', body: formatNoteLink(target, 'T') });
    await first.whenIndexed();
    first.close();

    for (const damage of [undefined, new Uint8Array([1, 250, 250])]) {
      await source.setMeta(LINKS_META_KEY, damage);
      const counting = new CountingDocSource(source);
      const store = await openStore(counting);
      await store.whenIndexed();
      // Re-read once (notes with a body), then known.
      expect(counting.calls('readStored')).toContain(noteDocName(W, linking));
      expect(backlinkIds(store, target)).toEqual([linking]);
      store.close();
    }
  });

  it('learns links of a note edited elsewhere while closed', async () => {
    const one = await replica();
    const two = await replica();
    const target = await one.store.create({ title: 'T' });
    const source = await one.store.create({ title: 'S', body: 'nothing yet' });
    exchange(one.source, two.source);
    await one.store.whenIndexed();
    one.store.close();
    await two.store.edit(source, (body) => body.insert(0, formatNoteLink(target, 'T')));
    two.store.flush();
    // Delivered to storage while no store was running (e.g. by a background sync).
    for (const name of [W, noteDocName(W, target), noteDocName(W, source)]) {
      one.source.applyUpdate(name, two.source.encodeDiff(name, one.source.stateVector(name)));
    }
    const reopened = await openStore(one.source);
    await reopened.whenIndexed();
    expect(backlinkIds(reopened, target)).toEqual([source]);
  });
});
