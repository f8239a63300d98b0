import { describe, expect, it } from 'vitest';
import { KnownLogs } from './KnownLogs.ts';

describe('KnownLogs', () => {
  it('learns what a load read only where nothing is known, and only in the epoch it began', async () => {
    const logs = new KnownLogs(10);
    const epoch = logs.epoch;
    logs.learn('a', 5, 1, epoch);
    expect(await logs.last('a')).toBe(5);
    expect(logs.start('a')).toBe(1);
    // A later read does not overwrite what writes have set since.
    logs.setLast('a', Promise.resolve(7));
    logs.setStart('a', 6);
    logs.learn('a', 5, 1, epoch);
    expect(await logs.last('a')).toBe(7);
    expect(logs.start('a')).toBe(6);
    // A delete moves the epoch on: a load begun before it teaches nothing.
    logs.forget('a');
    logs.learn('a', 5, 1, epoch);
    expect(logs.last('a')).toBeUndefined();
    expect(logs.start('a')).toBeUndefined();
  });

  it('forgets the oldest doc not used again beyond capacity, and a load begun before learns nothing of it', () => {
    const logs = new KnownLogs(2);
    const epoch = logs.epoch;
    logs.setStart('a', 1);
    logs.setStart('b', 1);
    logs.setStart('a', 2); // a used again: spared once, b goes
    logs.setStart('c', 1);
    expect(logs.size).toBe(2);
    expect(logs.start('b')).toBeUndefined();
    expect(logs.start('a')).toBe(2);
    expect(logs.epoch).toBeGreaterThan(epoch);
    logs.learn('b', 9, 3, epoch);
    expect(logs.start('b')).toBeUndefined();
  });

  it('keeps a doc while a write to it is under way and the doc in use, over capacity', async () => {
    const logs = new KnownLogs(1);
    let finish = () => {};
    const write = logs.writing(
      'a',
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    const reservation = Promise.resolve(4);
    logs.setLast('a', reservation);
    // b is the doc in use and a is being written: neither goes.
    logs.setStart('b', 1);
    expect(logs.size).toBe(2);
    expect(logs.last('a')).toBe(reservation);
    expect(logs.start('b')).toBe(1);
    finish();
    await write;
    // The write settled: back within capacity. a was used again, b was not.
    expect(logs.size).toBe(1);
    expect(logs.last('a')).toBe(reservation);
    expect(logs.start('b')).toBeUndefined();
  });

  it('forgets, when every doc was used again, the oldest after sparing each once', () => {
    const logs = new KnownLogs(3);
    for (const doc of ['a', 'b', 'c']) logs.setStart(doc, 1);
    for (const doc of ['b', 'a', 'c']) logs.setStart(doc, 2);
    logs.setStart('d', 1);
    expect(logs.size).toBe(3);
    expect(logs.start('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((doc) => logs.start(doc))).toEqual([2, 2, 1]);
  });

  it('drops a failed reservation only if no later one took its place', () => {
    const logs = new KnownLogs(10);
    const failed = Promise.resolve(1);
    const later = Promise.resolve(2);
    logs.setLast('a', failed);
    logs.setLast('a', later);
    logs.dropLast('a', failed);
    expect(logs.last('a')).toBe(later);
    logs.dropLast('a', later);
    expect(logs.last('a')).toBeUndefined();
  });
});
