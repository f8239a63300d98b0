import { describe, expect, it } from 'vitest';
import { RateLimiter } from './RateLimiter.ts';

describe('RateLimiter', () => {
  it('lets a burst through, then asks for pauses that hold the sustained rate', () => {
    let now = 0;
    const limiter = new RateLimiter(
      { framesPerSecond: 10, bytesPerSecond: 1000, burstSeconds: 1 },
      () => now,
    );
    for (let i = 0; i < 10; i++) expect(limiter.take(10)).toBe(0);
    // The 11th frame is one frame of debt: 100 ms at 10 frames/s.
    expect(limiter.take(10)).toBe(100);
    now += 100;
    expect(limiter.waitMs()).toBe(0);
    // Over a long run the accepted rate converges to the limit.
    let accepted = 0;
    for (let t = 0; t < 10_000; t++) {
      now += 1;
      if (limiter.waitMs() === 0) {
        limiter.take(1);
        accepted++;
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(99);
    expect(accepted).toBeLessThanOrEqual(101);
  });

  it('limits bytes independently of frames, and refills only up to the burst', () => {
    let now = 0;
    const limiter = new RateLimiter({ framesPerSecond: 1000, bytesPerSecond: 100 }, () => now);
    // Burst: 2 s of 100 B/s. A 500-byte frame is 300 bytes of debt: 3 s.
    expect(limiter.take(500)).toBe(3000);
    now += 60_000;
    expect(limiter.take(200)).toBe(0);
    expect(limiter.take(1)).toBe(10);
  });

  it('refuses rates that are not positive', () => {
    expect(() => new RateLimiter({ framesPerSecond: 0, bytesPerSecond: 1 })).toThrow(RangeError);
    expect(() => new RateLimiter({ framesPerSecond: 1, bytesPerSecond: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
