import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import { backoffDelay, checkBackoffOptions } from './backoff.ts';

const SEED = Number(process.env.TEST_SEED ?? 0x5eed);

describe('backoffDelay', () => {
  it(`uses full jitter below a cap that doubles up to maxMs (seed ${SEED})`, () => {
    const gen = prng.create(SEED);
    const options = { baseMs: 100, maxMs: 3_000 };
    const caps = [100, 200, 400, 800, 1600, 3000, 3000];
    for (let round = 0; round < 200; round++) {
      caps.forEach((cap, attempt) => {
        let drawn = -1;
        const delay = backoffDelay(attempt, options, () => {
          drawn = prng.real53(gen);
          return drawn;
        });
        expect(delay, `seed ${SEED}, attempt ${attempt}`).toBeCloseTo(drawn * cap, 9);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(cap);
      });
    }
  });

  it('spreads delays over the whole window (not a fixed fraction of it)', () => {
    const gen = prng.create(SEED);
    const delays = Array.from({ length: 500 }, () =>
      backoffDelay(4, { baseMs: 10, maxMs: 1_000 }, () => prng.real53(gen)),
    );
    expect(Math.min(...delays)).toBeLessThan(16);
    expect(Math.max(...delays)).toBeGreaterThan(144);
  });

  it('stays at maxMs for huge attempt numbers', () => {
    expect(backoffDelay(10_000, { baseMs: 250, maxMs: 10_000 }, () => 0.5)).toBe(5_000);
  });

  it('rejects nonsense', () => {
    expect(() => backoffDelay(-1, { baseMs: 1, maxMs: 2 })).toThrow(RangeError);
    expect(() => checkBackoffOptions({ baseMs: 0, maxMs: 2 })).toThrow(/baseMs/);
    expect(() => checkBackoffOptions({ baseMs: 5, maxMs: 2 })).toThrow(/maxMs/);
  });
});
