import { MemoryStorage, type StoredDoc } from '@lattice/replication';
import { storageContract } from '@lattice/replication/testing';
import { describe, expect, it } from 'vitest';
import { DeferredStorage, type SummarizingStorage } from './DeferredStorage.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

/** A promise with its resolve/reject exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Opened at once, and opened a little later: the adapter must keep the contract either way.
storageContract('DeferredStorage (already open)', async () => {
  return new DeferredStorage(Promise.resolve(new MemoryStorage()));
});
storageContract('DeferredStorage (opening)', async () => {
  const opening = deferred<SummarizingStorage>();
  const storage = new DeferredStorage(opening.promise);
  setTimeout(() => opening.resolve(new MemoryStorage()), 5);
  return storage;
});

/** A memory adapter that records the order in which calls reach it. */
function recording() {
  const inner = new MemoryStorage();
  const calls: string[] = [];
  const load = inner.load.bind(inner);
  const append = inner.append.bind(inner);
  const getMeta = inner.getMeta.bind(inner);
  inner.load = (docName: string): Promise<StoredDoc> => {
    calls.push(`load ${docName}`);
    return load(docName);
  };
  inner.append = (docName, updates, summary) => {
    calls.push(`append ${docName}`);
    return append(docName, updates, summary);
  };
  inner.getMeta = (key) => {
    calls.push(`getMeta ${key}`);
    return getMeta(key);
  };
  return { inner, calls };
}

describe('DeferredStorage', () => {
  it('reaches the adapter in call order, also for calls made just as it opens', async () => {
    const { inner, calls } = recording();
    const opening = deferred<SummarizingStorage>();
    const storage = new DeferredStorage(opening.promise);
    const early = [storage.getMeta('snapshot'), storage.append('a', [bytes(1)])];
    // Whoever awaits the open runs before the queued calls' turn: its call must still
    // come after them, or a read could overtake a write it was issued after.
    const late = opening.promise.then(() => storage.load('a'));
    opening.resolve(inner);
    await Promise.all(early);
    const loaded = await late;
    expect(calls).toEqual(['getMeta snapshot', 'append a', 'load a']);
    expect(loaded.updates).toEqual([bytes(1)]);
    // Once the queue has gone, calls go straight through.
    await storage.load('b');
    expect(calls.at(-1)).toBe('load b');
  });

  it('makes no call before the adapter is open', async () => {
    const { inner, calls } = recording();
    const opening = deferred<SummarizingStorage>();
    const storage = new DeferredStorage(opening.promise);
    const pending = storage.load('a');
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toEqual([]);
    opening.resolve(inner);
    await pending;
    expect(calls).toEqual(['load a']);
  });

  it('rejects every call with the open error, and closes without one', async () => {
    const opening = deferred<SummarizingStorage>();
    const storage = new DeferredStorage(opening.promise);
    const load = storage.load('a');
    const append = storage.append('a', [bytes(1)]);
    opening.reject(new Error('quota exceeded'));
    await expect(load).rejects.toThrow('quota exceeded');
    await expect(append).rejects.toThrow('quota exceeded');
    await expect(storage.ready).rejects.toThrow('quota exceeded');
    await expect(storage.list('')).rejects.toThrow('quota exceeded');
    await expect(storage.close()).resolves.toBeUndefined();
  });
});
