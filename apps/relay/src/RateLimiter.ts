/** Sustained rates and bursts of one connection's inbound traffic. */
export interface RateLimit {
  /** Frames per second, sustained. */
  framesPerSecond: number;
  /** Bytes per second, sustained. */
  bytesPerSecond: number;
  /** Seconds of the sustained rate a quiet connection may send at once (default 2). */
  burstSeconds?: number;
}

/**
 * Two token buckets (frames and bytes) for one connection. The relay takes
 * every frame that arrives — it never drops or queues on the sender's behalf —
 * and a bucket may go into debt; `take` then says how long the sender must be
 * paused (socket reads stopped, so TCP pushes back) until the debt is repaid.
 */
export class RateLimiter {
  readonly #limit: Required<RateLimit>;
  readonly #now: () => number;
  #frames: number;
  #bytes: number;
  #at: number;

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    for (const key of ['framesPerSecond', 'bytesPerSecond'] as const) {
      if (!(Number.isFinite(limit[key]) && limit[key] > 0)) {
        throw new RangeError(`rate limit ${key} must be a positive number, got ${limit[key]}`);
      }
    }
    const burstSeconds = limit.burstSeconds ?? 2;
    if (!(Number.isFinite(burstSeconds) && burstSeconds > 0)) {
      throw new RangeError(`rate limit burstSeconds must be positive, got ${burstSeconds}`);
    }
    this.#limit = { ...limit, burstSeconds };
    this.#now = now;
    this.#frames = limit.framesPerSecond * burstSeconds;
    this.#bytes = limit.bytesPerSecond * burstSeconds;
    this.#at = now();
  }

  /** Accounts one frame of `bytes`; returns 0, or the milliseconds to pause reading for. */
  take(bytes: number): number {
    this.#refill();
    this.#frames -= 1;
    this.#bytes -= bytes;
    return this.waitMs();
  }

  /** Milliseconds until neither bucket is in debt (0: none). */
  waitMs(): number {
    this.#refill();
    const { framesPerSecond, bytesPerSecond } = this.#limit;
    const frameWait = this.#frames < 0 ? (-this.#frames / framesPerSecond) * 1000 : 0;
    const byteWait = this.#bytes < 0 ? (-this.#bytes / bytesPerSecond) * 1000 : 0;
    return Math.ceil(Math.max(frameWait, byteWait));
  }

  #refill(): void {
    const now = this.#now();
    const seconds = Math.max(0, now - this.#at) / 1000;
    this.#at = now;
    const { framesPerSecond, bytesPerSecond, burstSeconds } = this.#limit;
    this.#frames = Math.min(
      framesPerSecond * burstSeconds,
      this.#frames + seconds * framesPerSecond,
    );
    this.#bytes = Math.min(bytesPerSecond * burstSeconds, this.#bytes + seconds * bytesPerSecond);
  }
}
