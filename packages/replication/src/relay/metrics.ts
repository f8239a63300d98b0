/**
 * Counters the relay core reports to whoever runs it (the Node relay exports
 * them as Prometheus metrics with prom-client; the core stays dependency-free).
 */

/** Why the relay refused a frame, a message or a connection (a metrics label). */
export type RejectReason =
  | 'malformed'
  | 'too_big'
  | 'unsupported_version'
  | 'handshake_timeout'
  | 'heartbeat_timeout'
  | 'unauthorized'
  | 'forbidden'
  | 'token_expired'
  | 'read_only'
  | 'rate_limited'
  | 'too_many_docs'
  | 'too_many_connections'
  | 'update_rejected'
  | 'awareness_rejected';

/** Observations from the relay core. Implementations must not throw. */
export interface RelayMetrics {
  /** A frame, message or connection was refused. */
  rejected(reason: RejectReason): void;
  /** Seconds from receiving a numbered message to sending its durable ack. */
  ackLatency(seconds: number): void;
}

/** Discards everything (the default). */
export const noopMetrics: RelayMetrics = Object.freeze({
  rejected: () => {},
  ackLatency: () => {},
});
