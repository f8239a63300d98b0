import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StoredDoc } from '@lattice/replication';
import { storageContract } from '@lattice/replication/testing';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LevelStorage } from './LevelStorage.ts';

const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-level-'));
  dirs.push(dir);
  return dir;
}

/**
 * Loads `docName` (a doc alone in its turn: one iterator) and runs
 * `meanwhile` after the load has read the log but before it hands it over;
 * resolves with what the load then returns.
 */
async function loadAround(
  storage: LevelStorage,
  docName: string,
  meanwhile: () => Promise<void>,
): Promise<StoredDoc> {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let markRead = () => {};
  const read = new Promise<void>((resolve) => {
    markRead = resolve;
  });
  const realIterator = ClassicLevel.prototype.iterator;
  vi.spyOn(ClassicLevel.prototype, 'iterator').mockImplementationOnce(function (
    this: ClassicLevel<string, Uint8Array>,
    options,
  ) {
    const iterator = realIterator.call(this, options as never);
    const all = iterator.all.bind(iterator);
    iterator.all = async () => {
      const entries = await all();
      markRead();
      await held;
      return entries;
    };
    return iterator;
  } as typeof realIterator);
  try {
    const result = storage.load(docName);
    await read;
    await meanwhile();
    release();
    return await result;
  } finally {
    vi.restoreAllMocks();
  }
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

storageContract('LevelStorage', async () => LevelStorage.open(await tempDir()));

describe('LevelStorage', () => {
  it('keeps updates, cursors and meta across reopen', async () => {
    const dir = await tempDir();
    const first = await LevelStorage.open(dir);
    await first.append('w1/n1', [Uint8Array.of(1), Uint8Array.of(2)]);
    await first.setMeta('relay-id', Uint8Array.of(7));
    await first.close();
    const second = await LevelStorage.open(dir);
    expect(await second.load('w1/n1')).toEqual({
      updates: [Uint8Array.of(1), Uint8Array.of(2)],
      cursor: 2,
    });
    // Sequence numbers continue after the stored ones.
    await second.append('w1/n1', [Uint8Array.of(3)]);
    expect((await second.load('w1/n1')).cursor).toBe(3);
    expect(await second.getMeta('relay-id')).toEqual(Uint8Array.of(7));
    await second.close();
  });

  // Concurrent callers share one synced batch (group commit); each caller's
  // ops land whole, and the batch reports every op it carried.
  it('group-commits concurrent writes into one batch that survives reopen', async () => {
    const dir = await tempDir();
    const writes: number[] = [];
    const first = await LevelStorage.open(dir, { onWrite: (_s, ops) => writes.push(ops) });
    await first.append('w1/a', [Uint8Array.of(1)]);
    expect(writes).toEqual([1]);
    // While that write's successor is queued, three more callers pile up behind it.
    await Promise.all([
      first.append('w1/a', [Uint8Array.of(2), Uint8Array.of(3)]),
      first.append('w1/b', [Uint8Array.of(4)]),
      first.setMeta('k', Uint8Array.of(5)),
      first.compact('w1/a', Uint8Array.of(9), 1),
    ]);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(1 + 2 + 1 + 1 + 2);
    expect(writes.length).toBeLessThan(5);
    await first.close();
    const second = await LevelStorage.open(dir);
    expect(await second.load('w1/a')).toEqual({
      updates: [Uint8Array.of(9), Uint8Array.of(2), Uint8Array.of(3)],
      cursor: 3,
    });
    expect((await second.load('w1/b')).updates).toEqual([Uint8Array.of(4)]);
    expect(await second.getMeta('k')).toEqual(Uint8Array.of(5));
    await second.close();
  });

  // Rooms append in their own turns: the store holds a batch open for its
  // sync window, so writes of many docs that arrive within it share one sync.
  it('syncs the writes that arrive within its window together, across turns', async () => {
    for (const [syncWindowMs, batches] of [
      [40, [2]],
      [0, [1, 1]],
    ] as const) {
      const writes: number[] = [];
      const storage = await LevelStorage.open(await tempDir(), {
        syncWindowMs,
        onWrite: (_seconds, ops) => writes.push(ops),
      });
      const first = storage.setMeta('a', Uint8Array.of(1));
      // A later turn, as another room's append comes.
      await nextTurn();
      await nextTurn();
      await Promise.all([first, storage.setMeta('b', Uint8Array.of(2))]);
      expect(writes).toEqual(batches);
      await storage.close();
    }
  });

  it('refuses a sync window or a log-ends capacity that is not a count', async () => {
    const dir = await tempDir();
    await expect(LevelStorage.open(dir, { syncWindowMs: -1 })).rejects.toThrow(/syncWindowMs/);
    await expect(LevelStorage.open(dir, { syncWindowMs: Number.NaN })).rejects.toThrow(
      /syncWindowMs/,
    );
    await expect(LevelStorage.open(dir, { knownLogs: 0 })).rejects.toThrow(/knownLogs/);
  });

  it('keeps doc names that share a prefix apart, including "!"', async () => {
    const storage = await LevelStorage.open(await tempDir());
    await storage.append('a', [Uint8Array.of(1)]);
    await storage.append('a!b', [Uint8Array.of(2)]);
    await storage.append('a/ü', [Uint8Array.of(3)]);
    expect((await storage.load('a')).updates).toEqual([Uint8Array.of(1)]);
    expect(await storage.list('a')).toEqual(['a', 'a!b', 'a/ü']);
    await storage.delete('a');
    expect(await storage.list('')).toEqual(['a!b', 'a/ü']);
    await storage.close();
  });

  it("reads a turn's loads of many docs with one key read and one multi-get", async () => {
    const storage = await LevelStorage.open(await tempDir());
    const docs = Array.from({ length: 30 }, (_, i) => `w/n${i}`);
    for (const doc of docs) await storage.append(doc, [Uint8Array.of(1), Uint8Array.of(2)]);
    const iterators = vi.spyOn(ClassicLevel.prototype, 'iterator');
    const keyReads = vi.spyOn(ClassicLevel.prototype, 'keys');
    const multiGets = vi.spyOn(ClassicLevel.prototype, 'getMany');
    try {
      const loaded = await Promise.all(docs.map((doc) => storage.load(doc)));
      expect(loaded.every((d) => d.updates.length === 2 && d.cursor === 2)).toBe(true);
      // classic-level reads keys through an iterator without values: that one only.
      expect(keyReads).toHaveBeenCalledTimes(1);
      expect(iterators.mock.calls.map(([options]) => options?.values)).toEqual([false]);
      expect(multiGets).toHaveBeenCalledTimes(1);
      // A few docs: an iterator each, as before.
      await Promise.all(docs.slice(0, 2).map((doc) => storage.load(doc)));
      expect(iterators).toHaveBeenCalledTimes(3);
    } finally {
      vi.restoreAllMocks();
      await storage.close();
    }
  });

  it("hands a large turn's docs over in slices, in the order asked, while later ones are read", async () => {
    const storage = await LevelStorage.open(await tempDir());
    // Asked for in the reverse of key order: slices follow the asking, not the keys.
    const docs = Array.from({ length: 200 }, (_, i) => `w/n${String(i).padStart(3, '0')}`);
    docs.reverse();
    for (const doc of docs) await storage.append(doc, [new TextEncoder().encode(doc)]);
    const realGetMany = ClassicLevel.prototype.getMany;
    let releaseLater!: () => void;
    const later = new Promise<void>((resolve) => {
      releaseLater = resolve;
    });
    const multiGets = vi
      .spyOn(ClassicLevel.prototype, 'getMany')
      .mockImplementation(async function (this: ClassicLevel, keys: string[], options?: object) {
        // Every read but the first is held until released.
        if (multiGets.mock.calls.length > 1) await later;
        return await realGetMany.call(this, keys, options ?? {});
      } as never);
    try {
      const settled = new Set<string>();
      const loads = docs.map((doc) =>
        storage.load(doc).then((stored) => {
          settled.add(doc);
          return stored;
        }),
      );
      const first = await Promise.all(loads.slice(0, 64));
      expect(first.map((d) => new TextDecoder().decode(d.updates[0]))).toEqual(docs.slice(0, 64));
      expect(settled.size).toBe(64);
      expect(multiGets).toHaveBeenCalledTimes(4);
      releaseLater();
      const all = await Promise.all(loads);
      expect(all.map((d) => new TextDecoder().decode(d.updates[0]))).toEqual(docs);
    } finally {
      vi.restoreAllMocks();
      await storage.close();
    }
  });

  // classic-level frees an iterator's native memory only when V8 collects it:
  // the writes to a doc the store has loaded read no keys.
  it('appends to and compacts a loaded doc without reading its keys', async () => {
    const dir = await tempDir();
    const first = await LevelStorage.open(dir);
    await first.append('w/d', [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    await first.close();
    const storage = await LevelStorage.open(dir);
    expect((await storage.load('w/d')).cursor).toBe(3);
    const iterators = vi.spyOn(ClassicLevel.prototype, 'iterator');
    try {
      await storage.append('w/d', [Uint8Array.of(4)]);
      await storage.compact('w/d', Uint8Array.of(9), 4);
      await storage.append('w/d', [Uint8Array.of(5)]);
      await storage.compact('w/d', Uint8Array.of(8), 5);
      await storage.append('w/d', [Uint8Array.of(6)]);
      expect(iterators).not.toHaveBeenCalled();
      // A doc this store has not loaded: its keys are read, as before.
      await storage.append('w/e', [Uint8Array.of(1), Uint8Array.of(2)]);
      await storage.compact('w/e', Uint8Array.of(7), 2);
      expect(iterators).toHaveBeenCalledTimes(2);
    } finally {
      vi.restoreAllMocks();
    }
    await storage.close();
    const reopened = await LevelStorage.open(dir);
    expect(await reopened.load('w/d')).toEqual({
      updates: [Uint8Array.of(8), Uint8Array.of(6)],
      cursor: 6,
    });
    expect(await reopened.load('w/e')).toEqual({ updates: [Uint8Array.of(7)], cursor: 2 });
    await reopened.close();
  });

  // The load reads the log from before the delete and hands it over after the
  // doc was written again from 1: what it read is older than what the store
  // knows, and must not decide which keys a compaction deletes.
  it('learns nothing from a load that overlapped a delete', async () => {
    const dir = await tempDir();
    const first = await LevelStorage.open(dir);
    await first.append('w/d', [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]);
    await first.compact('w/d', Uint8Array.of(9), 3);
    await first.close();
    const storage = await LevelStorage.open(dir);
    const loaded = await loadAround(storage, 'w/d', async () => {
      await storage.delete('w/d');
      await storage.append('w/d', [Uint8Array.of(4)]);
    });
    expect(loaded).toEqual({ updates: [Uint8Array.of(9)], cursor: 3 });
    await storage.append('w/d', [Uint8Array.of(5)]);
    await storage.compact('w/d', Uint8Array.of(8), 2);
    expect(await storage.load('w/d')).toEqual({ updates: [Uint8Array.of(8)], cursor: 2 });
    await storage.close();
  });

  // Knowing one doc at a time, the store forgets w/d when w/e is written. The
  // load of w/d read it before an append that has since been forgotten: its
  // last number is stale, and the next append must not reuse the one after it.
  it('learns nothing from a load that overlapped the forgetting of its doc', async () => {
    const dir = await tempDir();
    const first = await LevelStorage.open(dir);
    await first.append('w/d', [Uint8Array.of(1)]);
    await first.close();
    const storage = await LevelStorage.open(dir, { knownLogs: 1 });
    const loaded = await loadAround(storage, 'w/d', async () => {
      await storage.append('w/d', [Uint8Array.of(2)]);
      await storage.append('w/e', [Uint8Array.of(7)]);
    });
    expect(loaded).toEqual({ updates: [Uint8Array.of(1)], cursor: 1 });
    await storage.append('w/d', [Uint8Array.of(3)]);
    expect(await storage.load('w/d')).toEqual({
      updates: [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)],
      cursor: 3,
    });
    await storage.close();
  });

  it('fails only the load of a doc with a corrupt record when loading many at once', async () => {
    const dir = await tempDir();
    const storage = await LevelStorage.open(dir);
    const docs = Array.from({ length: 8 }, (_, i) => `w/n${i}`);
    for (const doc of docs) await storage.append(doc, [Uint8Array.of(1, 2, 3)]);
    await storage.close();
    const raw = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const key = 'u!w%2Fn3!0000000000000001';
    const bad = new Uint8Array((await raw.get(key)) as Uint8Array);
    bad[5] = (bad[5] ?? 0) ^ 1;
    await raw.put(key, bad);
    await raw.close();
    const reopened = await LevelStorage.open(dir, { verify: false });
    const results = await Promise.allSettled(docs.map((doc) => reopened.load(doc)));
    expect(results.map((r) => r.status)).toEqual(
      docs.map((_, i) => (i === 3 ? 'rejected' : 'fulfilled')),
    );
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/fails its checksum/);
    await reopened.close();
  });

  it('refuses a directory whose LevelDB files are corrupt', async () => {
    const dir = await tempDir();
    const storage = await LevelStorage.open(dir);
    await storage.append('d', [Uint8Array.of(1)]);
    await storage.close();
    await writeFile(join(dir, 'CURRENT'), 'garbage-without-newline');
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      /relay store at .* is corrupt: .*Corruption/i,
    );
  });

  it('refuses a LevelDB database that is not a relay store', async () => {
    const dir = await tempDir();
    const other = new ClassicLevel<string, string>(dir);
    await other.put('someone', 'else');
    await other.close();
    await expect(LevelStorage.open(dir)).rejects.toThrow(/not a Lattice relay store/);
  });

  it('refuses a path that is a file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await expect(LevelStorage.open(file)).rejects.toThrow(/cannot open relay store/);
  });
});
