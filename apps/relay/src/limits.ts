import { DEFAULT_MAX_FRAME_BYTES } from '@lattice/replication';
import { type RateLimit, RateLimiter } from './RateLimiter.ts';

/** Every limit of a relay, resolved (see `RelayOptions` for what each bounds). */
export interface RelayLimits {
  maxFrameBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxDocsPerConnection: number;
  rateLimit: Required<RateLimit>;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Defaults for a relay on the internet: generous for real clients, finite for everyone. */
export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxConnections: 10_000,
  maxConnectionsPerIp: 1_000,
  maxDocsPerConnection: 20_000,
  // A first sync sends a frame per doc batch; typing sends a few per second.
  rateLimit: Object.freeze({
    framesPerSecond: 500,
    bytesPerSecond: 8 * 1024 * 1024,
    burstSeconds: 2,
  }),
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
});

/** The subset of `RelayOptions` that sets limits. */
export interface LimitOptions {
  maxFrameBytes?: number;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  maxDocsPerConnection?: number;
  rateLimit?: RateLimit;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Fills in defaults; throws `RangeError` for a limit that is not a positive integer. */
export function resolveLimits(options: LimitOptions): RelayLimits {
  const headersTimeoutMs = positiveInteger(
    'headersTimeoutMs',
    options.headersTimeoutMs,
    DEFAULT_LIMITS.headersTimeoutMs,
  );
  const requestTimeoutMs = positiveInteger(
    'requestTimeoutMs',
    options.requestTimeoutMs,
    Math.max(DEFAULT_LIMITS.requestTimeoutMs, headersTimeoutMs),
  );
  // Node refuses a request timeout shorter than the headers timeout.
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new RangeError('requestTimeoutMs must not be shorter than headersTimeoutMs');
  }
  const rate = options.rateLimit;
  const rateLimit = {
    framesPerSecond: rate?.framesPerSecond ?? DEFAULT_LIMITS.rateLimit.framesPerSecond,
    bytesPerSecond: rate?.bytesPerSecond ?? DEFAULT_LIMITS.rateLimit.bytesPerSecond,
    burstSeconds: rate?.burstSeconds ?? DEFAULT_LIMITS.rateLimit.burstSeconds,
  };
  // Validates the rates (throws RangeError) before any connection needs them.
  new RateLimiter(rateLimit);
  return {
    maxFrameBytes: positiveInteger(
      'maxFrameBytes',
      options.maxFrameBytes,
      DEFAULT_LIMITS.maxFrameBytes,
    ),
    maxConnections: positiveInteger(
      'maxConnections',
      options.maxConnections,
      DEFAULT_LIMITS.maxConnections,
    ),
    maxConnectionsPerIp: positiveInteger(
      'maxConnectionsPerIp',
      options.maxConnectionsPerIp,
      DEFAULT_LIMITS.maxConnectionsPerIp,
    ),
    maxDocsPerConnection: positiveInteger(
      'maxDocsPerConnection',
      options.maxDocsPerConnection,
      DEFAULT_LIMITS.maxDocsPerConnection,
    ),
    rateLimit,
    headersTimeoutMs,
    requestTimeoutMs,
  };
}
