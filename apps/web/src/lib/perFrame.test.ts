import { describe, expect, it } from 'vitest';
import { type FrameScheduler, perFrame } from './perFrame.ts';

/** A scheduler whose frames the test ends by hand. */
function frames(): { schedule: FrameScheduler; end: () => void; pending: () => number } {
  let queued: Array<() => void> = [];
  return {
    schedule: (callback) => {
      queued.push(callback);
      return () => {
        queued = queued.filter((c) => c !== callback);
      };
    },
    end: () => {
      const run = queued;
      queued = [];
      for (const callback of run) callback();
    },
    pending: () => queued.length,
  };
}

describe('perFrame', () => {
  it('applies the first change at once and a burst once per frame, the last change included', () => {
    const f = frames();
    let value = 0;
    const seen: number[] = [];
    const run = perFrame(() => seen.push(value), f.schedule);
    value = 1;
    run();
    expect(seen).toEqual([1]);
    for (value = 2; value <= 500; value++) run();
    value = 500;
    expect(seen).toEqual([1]);
    f.end();
    expect(seen).toEqual([1, 500]);
    // Still within a burst: the next change waits for the frame.
    value = 501;
    run();
    expect(seen).toEqual([1, 500]);
    f.end();
    expect(seen).toEqual([1, 500, 501]);
    // A frame without changes ends the burst: the next change shows at once.
    f.end();
    expect(f.pending()).toBe(0);
    value = 502;
    run();
    expect(seen).toEqual([1, 500, 501, 502]);
  });

  it('drops a pending run when cancelled', () => {
    const f = frames();
    let calls = 0;
    const run = perFrame(() => calls++, f.schedule);
    run();
    run();
    run.cancel();
    expect(f.pending()).toBe(0);
    f.end();
    expect(calls).toBe(1);
  });
});
