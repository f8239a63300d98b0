import { afterEach, describe, expect, it } from 'vitest';
import { NoteStore } from './NoteStore.ts';
import { MemoryDocSource } from './testing/index.ts';

let clock = 0;
const stores: NoteStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

async function open(source = new MemoryDocSource()) {
  const store = await NoteStore.open({ workspaceId: 'w-search', source, now: () => ++clock });
  stores.push(store);
  return store;
}

describe('NoteStore search at scale (issue 7)', () => {
  it('ranks every match; a limit returns the top hits, each with a snippet at the match', async () => {
    const store = await open();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const padding = 'filler words '.repeat(10 + i);
      ids.push(
        await store.create({
          title: `Note ${i}`,
          body: `${padding}garden ${'garden '.repeat(i)}end`,
        }),
      );
    }
    await store.whenIndexed();
    const all = store.search('garden');
    // Most hits first; the snippet shows where the match is, past the filler.
    expect(all.map((h) => h.id)).toEqual([...ids].reverse());
    for (const hit of all) expect(hit.snippet).toMatch(/^….*garden/);
    const top = store.search('garden', { limit: 3 });
    expect(top).toEqual(all.slice(0, 3));
    expect(store.search('garden', { limit: 0 })).toEqual([]);
  });

  it('prepareSearch does the lazy tokenizing ahead, in slices, and changes no result', async () => {
    const source = new MemoryDocSource();
    const first = await open(source);
    for (let i = 0; i < 30; i++)
      await first.create({ title: `T${i}`, body: `alpha beta${i} gamma` });
    await first.whenIndexed();
    const expected = first.search('beta1').map((h) => h.id);
    first.close();
    stores.splice(0);
    // Reopened: bodies come from the persisted index and wait to be tokenized.
    const store = await open(source);
    let slices = 0;
    while (store.prepareSearch(0)) slices++;
    expect(slices).toBeGreaterThan(0);
    expect(store.prepareSearch()).toBe(false);
    expect(store.search('beta1').map((h) => h.id)).toEqual(expected);
    expect(expected).toHaveLength(11);
  });
});
