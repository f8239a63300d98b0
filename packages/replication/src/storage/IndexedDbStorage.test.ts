import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Replica } from '../Replica.ts';
import { storageContract } from '../testing/storageContract.ts';
import { IndexedDbStorage } from './IndexedDbStorage.ts';

storageContract('IndexedDbStorage', () =>
  IndexedDbStorage.open('lattice:test', new IDBFactory(), IDBKeyRange),
);

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

  it('keeps one database per workspace', async () => {
    const factory = new IDBFactory();
    const a = await IndexedDbStorage.open('lattice:a', factory, IDBKeyRange);
    const b = await IndexedDbStorage.open('lattice:b', factory, IDBKeyRange);
    await a.append('doc', [new Uint8Array([1])]);
    expect(await b.list('')).toEqual([]);
    await Promise.all([a.close(), b.close()]);
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
