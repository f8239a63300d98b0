import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { Replica } from '../Replica.ts';
import { storageContract } from '../testing/storageContract.ts';
import { IndexedDbStorage } from './IndexedDbStorage.ts';

storageContract('IndexedDbStorage', () =>
  IndexedDbStorage.open('lattice:test', new IDBFactory(), IDBKeyRange),
);

/** Waits until `storage` holds `count` summaries (deferred ones are written after a quiet moment). */
async function summariesWritten(
  storage: IndexedDbStorage,
  count: number,
): Promise<Map<string, Uint8Array>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const summaries = await storage.loadSummaries();
    if (summaries.size >= count) return summaries;
    if (Date.now() > deadline) throw new Error(`${summaries.size} of ${count} summaries written`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('IndexedDbStorage: summaries of the docs a large batch starts', () => {
  const docs = Array.from({ length: 20 }, (_, i) => `w/n${String(i).padStart(2, '0')}`);
  const summaryOf = (i: number) => Uint8Array.of(100 + i);
  const startAll = (storage: IndexedDbStorage) =>
    Promise.all(docs.map((doc, i) => storage.append(doc, [Uint8Array.of(i)], summaryOf(i))));

  it('writes them once appends are quiet, not in the batch', async () => {
    const storage = await IndexedDbStorage.open('lattice:defer', new IDBFactory(), IDBKeyRange);
    const puts = vi.spyOn(IDBObjectStore.prototype, 'put');
    try {
      await startAll(storage);
      // The batch itself put no summary: half the requests of a fresh device's load.
      expect(puts).not.toHaveBeenCalled();
      const summaries = await summariesWritten(storage, docs.length);
      expect(summaries).toEqual(new Map(docs.map((doc, i) => [doc, summaryOf(i)])));
    } finally {
      puts.mockRestore();
      await storage.close();
    }
  });

  it('never writes one over a later append, for a deleted doc, or over a changed log', async () => {
    const factory = new IDBFactory();
    const storage = await IndexedDbStorage.open('lattice:defer', factory, IDBKeyRange);
    // An empty doc may hold a summary; the batch that starts it must drop it.
    expect(await storage.putSummary('w/n05', Uint8Array.of(1), 0)).toBe(true);
    await startAll(storage);
    expect((await storage.loadSummaries()).has('w/n05')).toBe(false);
    await storage.append('w/n00', [Uint8Array.of(50)], Uint8Array.of(250));
    await storage.append('w/n01', [Uint8Array.of(51)]);
    await storage.delete('w/n02');
    // Another tab (its own connection) appends to one before the summaries are written.
    const otherTab = await IndexedDbStorage.open('lattice:defer', factory, IDBKeyRange);
    await otherTab.append('w/n03', [Uint8Array.of(53)]);
    await otherTab.close();
    const summaries = await summariesWritten(storage, docs.length - 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(await storage.loadSummaries()).toEqual(
      new Map([
        ['w/n00', Uint8Array.of(250)],
        ...docs.slice(4).map((doc, i) => [doc, summaryOf(i + 4)] as const),
      ]),
    );
    expect(summaries.has('w/n03')).toBe(false);
    await storage.close();
  });

  it('writes them when closed before the quiet moment', async () => {
    const factory = new IDBFactory();
    const storage = await IndexedDbStorage.open('lattice:defer', factory, IDBKeyRange);
    await startAll(storage);
    await storage.close();
    const reopened = await IndexedDbStorage.open('lattice:defer', factory, IDBKeyRange);
    expect((await reopened.loadSummaries()).size).toBe(docs.length);
    await reopened.close();
  });
});

describe('IndexedDbStorage', () => {
  it('keeps updates and meta across reopening the same database', async () => {
    const factory = new IDBFactory();
    const first = await IndexedDbStorage.open('lattice:w', factory, IDBKeyRange);
    await first.append('w/n', [new Uint8Array([1]), new Uint8Array([2])]);
    await first.setMeta('k', new Uint8Array([7]));
    await first.close();
    const second = await IndexedDbStorage.open('lattice:w', factory, IDBKeyRange);
    expect((await second.load('w/n')).updates).toEqual([new Uint8Array([1]), new Uint8Array([2])]);
    expect(await second.getMeta('k')).toEqual(new Uint8Array([7]));
    expect(await second.list('')).toEqual(['w/n']);
    await second.close();
  });

  it('opens a version 1 database (before summaries): data kept, summaries start empty', async () => {
    const factory = new IDBFactory();
    // The schema of version 1, written as that version did.
    await new Promise<void>((resolve, reject) => {
      const req = factory.open('lattice:old', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('updates');
        req.result.createObjectStore('meta');
      };
      req.onsuccess = () => {
        const db = req.result;
        const tx = db.transaction(['updates', 'meta'], 'readwrite');
        const doc = new Y.Doc();
        doc.getText('body').insert(0, 'from v1');
        tx.objectStore('updates').add(Y.encodeStateAsUpdate(doc), ['w/n', 1]);
        tx.objectStore('meta').put(new Uint8Array([1]), 'dirty:w/n');
        tx.oncomplete = () => {
          db.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
      req.onerror = () => reject(req.error);
    });
    const storage = await IndexedDbStorage.open('lattice:old', factory, IDBKeyRange);
    expect(await storage.loadSummaries()).toEqual(new Map());
    expect(await storage.metaKeys('dirty:')).toEqual(['dirty:w/n']);
    // A replica reads the doc and finds it still pending, as version 1 left it.
    const replica = new Replica({ storage, relays: [] });
    const handle = await replica.open('w/n');
    expect(handle.doc.getText('body').toString()).toBe('from v1');
    expect(replica.status.pendingLocal).toBe(true);
    await replica.destroy();
    // New appends keep summaries in the added store.
    await storage.append('w/m', [new Uint8Array([0, 0])], new Uint8Array([9]));
    expect(await storage.loadSummaries()).toEqual(new Map([['w/m', new Uint8Array([9])]]));
    await storage.close();
  });

  it('keeps one database per workspace', async () => {
    const factory = new IDBFactory();
    const a = await IndexedDbStorage.open('lattice:a', factory, IDBKeyRange);
    const b = await IndexedDbStorage.open('lattice:b', factory, IDBKeyRange);
    await a.append('doc', [new Uint8Array([1])]);
    expect(await b.list('')).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('finds the logs of a batch to many docs with one key read, not a cursor per doc', async () => {
    const storage = await IndexedDbStorage.open('lattice:batch', new IDBFactory(), IDBKeyRange);
    await storage.append('w/held', [new Uint8Array([1]), new Uint8Array([2])]);
    const cursors = vi.spyOn(IDBObjectStore.prototype, 'openKeyCursor');
    try {
      const docs = Array.from({ length: 50 }, (_, i) => `w/n${i}`);
      // One turn, one batch: a fresh device storing what the relay sent.
      await Promise.all([
        ...docs.map((doc, i) => storage.append(doc, [new Uint8Array([i])], new Uint8Array([7]))),
        storage.append('w/held', [new Uint8Array([3])]),
      ]);
      expect(cursors).not.toHaveBeenCalled();
      expect((await storage.load('w/held')).updates).toEqual(
        [1, 2, 3].map((b) => Uint8Array.of(b)),
      );
      expect((await storage.load('w/n7')).updates).toEqual([Uint8Array.of(7)]);
      await summariesWritten(storage, 50);
      // A batch of a few docs keeps its cursor per doc (a range read could span the store).
      await Promise.all([
        storage.append('w/a', [Uint8Array.of(1)]),
        storage.append('w/z', [Uint8Array.of(1)]),
      ]);
      expect(cursors).toHaveBeenCalledTimes(2);
    } finally {
      cursors.mockRestore();
      await storage.close();
    }
  });

  it('rejects a missing IndexedDB with a clear error', async () => {
    await expect(
      IndexedDbStorage.open('lattice:x', null as unknown as IDBFactory, IDBKeyRange),
    ).rejects.toThrow(/not available/);
  });

  it('backs a Replica across a reload: content and pending state survive', async () => {
    const factory = new IDBFactory();
    const storage = await IndexedDbStorage.open('lattice:w', factory, IDBKeyRange);
    const first = new Replica({ storage, relays: [] });
    const handle = await first.open('w/n');
    handle.doc.getText('body').insert(0, 'kept');
    await first.destroy();
    await storage.close();

    const reopened = await IndexedDbStorage.open('lattice:w', factory, IDBKeyRange);
    const second = new Replica({ storage: reopened, relays: [] });
    const again = await second.open('w/n');
    expect(again.doc.getText('body').toString()).toBe('kept');
    expect(second.status.pendingLocal).toBe(true);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, await second.readStored('w/n'));
    expect(doc.getText('body').toString()).toBe('kept');
    await second.destroy();
    await reopened.close();
  });
});
