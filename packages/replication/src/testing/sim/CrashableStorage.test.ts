import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../storage/MemoryStorage.ts';
import { storageContract } from '../storageContract.ts';
import { CrashableStorage, CrashedError } from './CrashableStorage.ts';
import { VirtualTime } from './VirtualTime.ts';

storageContract(
  'CrashableStorage',
  async () =>
    new CrashableStorage(new MemoryStorage(), { latency: () => 0, now: () => performance.now() }),
);

describe('CrashableStorage', () => {
  let time: VirtualTime | null = null;
  afterEach(() => {
    time?.uninstall();
    time = null;
  });

  it('completes calls in issue order whatever their latency, and a crash loses the rest', async () => {
    time = new VirtualTime().install();
    const disk = new MemoryStorage();
    const latencies = [30, 1, 5, 40];
    const storage = new CrashableStorage(disk, {
      latency: () => latencies.shift() ?? 0,
      now: () => Date.now(),
    });
    const done: string[] = [];
    const a = storage.append('d', [new Uint8Array([1])]).then(() => done.push('a'));
    const b = storage.append('d', [new Uint8Array([2])]).then(() => done.push('b'));
    const c = storage.setMeta('k', new Uint8Array([3])).then(() => done.push('c'));
    const d = storage.append('d', [new Uint8Array([4])]).catch((err: unknown) => err);
    await time.advance(29);
    expect(done).toEqual([]);
    expect((await disk.load('d')).updates).toEqual([]);
    await time.advance(1);
    await Promise.all([a, b, c]);
    // The quick ones waited for the slow first one: completion follows issue order.
    expect(done).toEqual(['a', 'b', 'c']);
    storage.crash();
    await time.advance(100);
    expect(await d).toBeInstanceOf(CrashedError);
    await expect(storage.load('d')).rejects.toBeInstanceOf(CrashedError);
    expect((await disk.load('d')).updates).toEqual([new Uint8Array([1]), new Uint8Array([2])]);
  });

  it('rejects a negative latency clearly', async () => {
    const storage = new CrashableStorage(new MemoryStorage(), { latency: () => -1, now: () => 0 });
    await expect(storage.list('')).rejects.toThrow(/latency must be >= 0/);
  });
});
