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
  /** Largest WebSocket message, also fragmented (ws `maxPayload`); larger ones close with 1009 (default 16 MiB). */
  maxFrameBytes?: number;
  /** Open WebSockets (and upgrades in progress) in total; more get HTTP 503 (default 10,000). */
  maxConnections?: number;
  /** Open WebSockets from one IP address; more get HTTP 429 (default 1,000). */
  maxConnectionsPerIp?: number;
  /** Docs one multiplexed socket may subscribe; more get `DocError(TooManyDocs)` (default 20,000). */
  maxDocsPerConnection?: number;
  /**
   * Per-connection inbound rate; above it the relay stops reading the socket
   * until the bucket refills (default 500 frames/s, 8 MiB/s, 2 s bursts).
   */
  rateLimit?: RateLimit;
  /** Time to receive a request's headers, upgrades included (slowloris; default 10 s). */
  headersTimeoutMs?: number;
  /** Time to receive a whole HTTP request (default 30 s). */
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
