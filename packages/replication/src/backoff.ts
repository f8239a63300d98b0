/** Reconnect delay bounds: `baseMs` for the first retry, doubling up to `maxMs`. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Defaults used by `Replica`. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 10_000 };

/**
 * Delay before retry number `attempt` (0-based) with full jitter:
 * `random() * min(maxMs, baseMs * 2^attempt)`. Full jitter spreads the retries
 * of many clients that lost the same relay at the same moment, so a restarted
 * relay is not hit by a synchronized stampede.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`backoff attempt must be a non-negative integer, got ${attempt}`);
  }
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
  return random() * cap;
}

/** Throws a clear error for unusable backoff bounds. */
export function checkBackoffOptions(options: BackoffOptions): void {
  const { baseMs, maxMs } = options;
  if (!(Number.isFinite(baseMs) && baseMs > 0)) {
    throw new RangeError(`backoff.baseMs must be a positive number, got ${baseMs}`);
  }
  if (!(Number.isFinite(maxMs) && maxMs >= baseMs)) {
    throw new RangeError(`backoff.maxMs must be a number ≥ baseMs, got ${maxMs}`);
  }
}
