import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageAdapter, StoredDoc } from '../ports.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

/**
 * The `StorageAdapter` contract: every adapter runs this suite. `makeAdapter`
 * must return a fresh, empty adapter each time it is called.
 */
export function storageContract(name: string, makeAdapter: () => Promise<StorageAdapter>): void {
  describe(`StorageAdapter contract: ${name}`, () => {
    let storage: StorageAdapter;
    let closed = false;

    beforeEach(async () => {
      storage = await makeAdapter();
      closed = false;
    });
    afterEach(async () => {
      if (!closed) await storage.close();
    });

    it('loads an unknown doc as empty', async () => {
      const stored = await storage.load('nope');
      expect(stored.updates).toEqual([]);
      expect(await storage.list('')).toEqual([]);
    });

    it('returns appended updates in append order, across calls', async () => {
      await storage.append('d', [bytes(1), bytes(2)]);
      await storage.append('d', [bytes(3)]);
      await storage.append('other', [bytes(9)]);
      const stored = await storage.load('d');
      expect(stored.updates).toEqual([bytes(1), bytes(2), bytes(3)]);
      expect((await storage.load('other')).updates).toEqual([bytes(9)]);
    });

    it('keeps what was stored when the caller reuses its buffer', async () => {
      const buffer = bytes(1, 2, 3);
      await storage.append('d', [buffer]);
      buffer[0] = 42;
      expect((await storage.load('d')).updates).toEqual([bytes(1, 2, 3)]);
    });

    it('serializes concurrent appends without losing any', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => storage.append('d', [bytes(i), bytes(100 + i)])),
      );
      const { updates } = await storage.load('d');
      expect(updates).toHaveLength(40);
      // Atomic per call: the two updates of one append stay adjacent.
      for (let i = 0; i < 40; i += 2) {
        expect(updates[i + 1]?.[0]).toBe((updates[i]?.[0] ?? -1) + 100);
      }
    });

    it('rejects bad input without storing anything', async () => {
      await expect(
        storage.append('d', [bytes(1), 'nope' as unknown as Uint8Array]),
      ).rejects.toThrow();
      await expect(storage.append('', [bytes(1)])).rejects.toThrow();
      await expect(storage.setMeta('k', 'v' as unknown as Uint8Array)).rejects.toThrow();
      expect((await storage.load('d')).updates).toEqual([]);
      expect(await storage.getMeta('k')).toBeUndefined();
    });

    it('compacts up to the cursor and keeps later appends after the snapshot', async () => {
      await storage.append('d', [bytes(1), bytes(2)]);
      const { cursor } = await storage.load('d');
      await storage.append('d', [bytes(3)]);
      await storage.compact('d', bytes(12), cursor);
      expect((await storage.load('d')).updates).toEqual([bytes(12), bytes(3)]);
      // A second round compacts the snapshot together with what followed it.
      await storage.append('d', [bytes(4)]);
      const again = await storage.load('d');
      await storage.compact('d', bytes(1234), again.cursor);
      await storage.append('d', [bytes(5)]);
      expect((await storage.load('d')).updates).toEqual([bytes(1234), bytes(5)]);
    });

    it('compacts one doc without touching another', async () => {
      await storage.append('a', [bytes(1), bytes(2)]);
      await storage.append('b', [bytes(7)]);
      const { cursor } = await storage.load('a');
      await storage.compact('a', bytes(12), cursor);
      expect((await storage.load('b')).updates).toEqual([bytes(7)]);
      expect((await storage.load('a')).updates).toEqual([bytes(12)]);
    });

    it('lists stored docs by prefix, sorted', async () => {
      for (const doc of ['w1/b', 'w2', 'w1', 'w1/a', 'w10/x', 'v']) {
        await storage.append(doc, [bytes(1), bytes(2)]);
      }
      expect(await storage.list('w1')).toEqual(['w1', 'w1/a', 'w1/b', 'w10/x']);
      expect(await storage.list('w1/')).toEqual(['w1/a', 'w1/b']);
      expect(await storage.list('')).toEqual(['v', 'w1', 'w1/a', 'w1/b', 'w10/x', 'w2']);
      expect(await storage.list('zz')).toEqual([]);
    });

    it('deletes a doc and all its updates', async () => {
      await storage.append('a', [bytes(1), bytes(2)]);
      await storage.append('a/b', [bytes(3)]);
      await storage.delete('a');
      expect((await storage.load('a')).updates).toEqual([]);
      expect(await storage.list('')).toEqual(['a/b']);
      await storage.delete('never-stored');
      // A deleted doc starts a fresh log.
      await storage.append('a', [bytes(4)]);
      expect((await storage.load('a')).updates).toEqual([bytes(4)]);
    });

    it('sets, gets and removes meta values', async () => {
      expect(await storage.getMeta('k')).toBeUndefined();
      await storage.setMeta('k', bytes(1, 2));
      await storage.setMeta('k2', bytes(3));
      expect(await storage.getMeta('k')).toEqual(bytes(1, 2));
      await storage.setMeta('k', bytes(5));
      expect(await storage.getMeta('k')).toEqual(bytes(5));
      await storage.setMeta('k', undefined);
      expect(await storage.getMeta('k')).toBeUndefined();
      expect(await storage.getMeta('k2')).toEqual(bytes(3));
      // Meta is separate from the docs.
      expect(await storage.list('')).toEqual([]);
    });

    it('keeps a summary exact or drops it (when the adapter keeps summaries)', async () => {
      if (!storage.putSummary || !storage.loadSummaries) return;
      await storage.append('a', [bytes(1)], bytes(10));
      await storage.append('b', [bytes(2)]);
      expect(await storage.loadSummaries()).toEqual(new Map([['a', bytes(10)]]));
      // An append without a summary drops it: nobody described the new state.
      await storage.append('a', [bytes(3)]);
      expect((await storage.loadSummaries()).has('a')).toBe(false);
      const { cursor } = await storage.load('a');
      expect(await storage.putSummary('a', bytes(11), cursor)).toBe(true);
      // Compaction keeps the state, so it keeps the summary.
      await storage.compact('a', bytes(13), cursor);
      expect((await storage.loadSummaries()).get('a')).toEqual(bytes(11));
      // A summary computed before a later append is refused.
      await storage.append('a', [bytes(4)]);
      expect(await storage.putSummary('a', bytes(12), cursor)).toBe(false);
      expect((await storage.loadSummaries()).has('a')).toBe(false);
      expect(await storage.putSummary('empty', bytes(0), 0)).toBe(true);
      await storage.append('c', [bytes(5)], bytes(50));
      await storage.delete('c');
      expect([...(await storage.loadSummaries()).keys()].sort()).toEqual(['empty']);
    });

    it('lists meta keys by prefix (when the adapter can)', async () => {
      if (!storage.metaKeys) return;
      for (const key of ['dirty:w/a', 'dirty:w/b', 'dirtx', 'session:w/a']) {
        await storage.setMeta(key, bytes(1));
      }
      expect(await storage.metaKeys('dirty:')).toEqual(['dirty:w/a', 'dirty:w/b']);
      await storage.setMeta('dirty:w/a', undefined);
      expect(await storage.metaKeys('dirty:')).toEqual(['dirty:w/b']);
      expect(await storage.metaKeys('')).toHaveLength(3);
    });

    it('stores concurrent appends to many docs, each in order', async () => {
      const docs = Array.from({ length: 30 }, (_, i) => `doc${i}`);
      await Promise.all(
        docs.flatMap((doc, i) => [
          storage.append(doc, [bytes(i)]),
          storage.append(doc, [bytes(100 + i)]),
        ]),
      );
      for (const [i, doc] of docs.entries()) {
        expect((await storage.load(doc)).updates).toEqual([bytes(i), bytes(100 + i)]);
      }
      expect(await storage.list('doc')).toHaveLength(30);
    });

    it('continues every log in one batch to many docs, other docs stored between them', async () => {
      // Docs with logs, each followed (in key order) by a doc with a longer
      // one: a reader of the span between the first and the last doc meets
      // more keys of the others than of the batch's own docs.
      const docs = Array.from({ length: 12 }, (_, i) => `span/${String(i).padStart(2, '0')}`);
      // The first doc's log is longer than a bounded read of all of them could be.
      const logLength = (i: number) => (i === 0 ? 200 : (i % 3) + 1);
      for (const [i, doc] of docs.entries()) {
        await storage.append(
          doc,
          Array.from({ length: logLength(i) }, (_, k) => bytes(k)),
        );
        await storage.append(
          `${doc}-other`,
          Array.from({ length: 20 }, (_, k) => bytes(k)),
        );
      }
      const fresh = Array.from({ length: 6 }, (_, i) => `span/${String(i).padStart(2, '0')}+new`);
      // One turn: the appends share a batch where the adapter batches.
      await Promise.all([
        ...docs.map((doc, i) => storage.append(doc, [bytes(200 + i)])),
        ...fresh.map((doc, i) => storage.append(doc, [bytes(100 + i)])),
      ]);
      for (const [i, doc] of docs.entries()) {
        const old = Array.from({ length: logLength(i) }, (_, k) => bytes(k));
        const { updates, cursor } = await storage.load(doc);
        expect(updates).toEqual([...old, bytes(200 + i)]);
        // The cursor still counts the log: compacting to it replaces everything.
        await storage.compact(doc, bytes(99), cursor);
        await storage.append(doc, [bytes(98)]);
        expect((await storage.load(doc)).updates).toEqual([bytes(99), bytes(98)]);
        expect((await storage.load(`${doc}-other`)).updates).toHaveLength(20);
      }
      for (const [i, doc] of fresh.entries()) {
        expect((await storage.load(doc)).updates).toEqual([bytes(100 + i)]);
      }
    });

    it('loads many docs at once, each its own log, with other docs stored between them', async () => {
      const docs = Array.from({ length: 10 }, (_, i) => `many/${i}`);
      // The first doc's log is longer than a bounded read of all of them could be.
      const logLength = (i: number) => (i === 0 ? 250 : (i % 3) + 1);
      for (const [i, doc] of docs.entries()) {
        for (let k = 0; k < logLength(i); k++) await storage.append(doc, [bytes(i, k)]);
        // Longer logs between the asked-for docs (in key order) than theirs.
        await storage.append(
          `${doc}-other`,
          Array.from({ length: 40 }, (_, k) => bytes(k)),
        );
      }
      const asked = [...docs, 'many/0+never-stored', docs[4] as string];
      const loaded = await Promise.all(asked.map((doc) => storage.load(doc)));
      for (const [i, doc] of docs.entries()) {
        const { updates, cursor } = loaded[i] as StoredDoc;
        expect(updates).toEqual(Array.from({ length: logLength(i) }, (_, k) => bytes(i, k)));
        await storage.compact(doc, bytes(99), cursor);
        expect((await storage.load(doc)).updates).toEqual([bytes(99)]);
      }
      expect(loaded[10]).toEqual({ updates: [], cursor: 0 });
      // The same doc twice in one turn: equal results, not shared buffers.
      expect(loaded[11]).toEqual(loaded[4]);
      expect(loaded[11]?.updates[0]).not.toBe(loaded[4]?.updates[0]);
    });

    it('rejects calls after close', async () => {
      await storage.append('d', [bytes(1)]);
      await storage.close();
      closed = true;
      await expect(storage.load('d')).rejects.toThrow();
      await expect(storage.append('d', [bytes(2)])).rejects.toThrow();
      await expect(storage.getMeta('k')).rejects.toThrow();
    });
  });
}
