import { afterEach, describe, expect, it } from 'vitest';
import { VirtualTime } from './VirtualTime.ts';

describe('VirtualTime', () => {
  let time: VirtualTime | null = null;
  afterEach(() => {
    time?.uninstall();
    time = null;
  });

  it('fires timers in due order, ties in the order they were set, with jobs in between', async () => {
    time = new VirtualTime(1000).install();
    const log: string[] = [];
    setTimeout(() => log.push('b@20'), 20);
    setTimeout(() => {
      log.push('a@10');
      void Promise.resolve().then(() => log.push('job after a'));
    }, 10);
    setTimeout(() => log.push('c@20'), 20);
    await time.advance(15);
    expect(log).toEqual(['a@10', 'job after a']);
    expect(Date.now()).toBe(1015);
    expect(performance.now()).toBe(1015);
    await time.advance(5);
    expect(log).toEqual(['a@10', 'job after a', 'b@20', 'c@20']);
  });

  it('repeats intervals, clears timers, and treats a zero delay as 1 ms like Node', async () => {
    time = new VirtualTime().install();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 100);
    const cleared = setTimeout(() => {
      throw new Error('cleared timer fired');
    }, 50);
    clearTimeout(cleared);
    let zero = -1;
    setTimeout(() => {
      zero = Date.now();
    }, 0);
    await time.advance(350);
    expect(ticks).toBe(3);
    expect(zero).toBe(1);
    clearInterval(interval);
    await time.advance(500);
    expect(ticks).toBe(3);
    expect(time.pending).toBe(0);
  });

  it('runs timers set by timers within the same advance', async () => {
    time = new VirtualTime().install();
    const at: number[] = [];
    setTimeout(() => {
      at.push(Date.now());
      setTimeout(() => at.push(Date.now()), 5);
    }, 5);
    await time.advance(10);
    expect(at).toEqual([5, 10]);
  });

  it('puts the real globals back on uninstall', () => {
    const real = globalThis.setTimeout;
    time = new VirtualTime().install();
    expect(globalThis.setTimeout).not.toBe(real);
    expect(() => time?.install()).toThrow(/already installed/);
    time.uninstall();
    expect(globalThis.setTimeout).toBe(real);
    expect(Date.now()).toBeGreaterThan(1e12);
  });
});
