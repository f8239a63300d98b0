import type { ConnectionsByKind, RejectReason, RelayMetrics } from '@lattice/replication';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the relay's gauges read at scrape time (`RelayCore.stats()`). */
export interface RelayGaugeSource {
  rooms: number;
  connectionsByKind: ConnectionsByKind;
}

/** Direction of a WebSocket frame, seen from the relay. */
export type FrameDirection = 'in' | 'out';

/**
 * The relay's Prometheus metrics: the core's `RelayMetrics` observations plus
 * what the Node server sees (frames, storage writes), in a registry of its
 * own so that several relays in one process do not collide.
 */
export interface PrometheusRelayMetrics extends RelayMetrics {
  /** This relay's series (process-wide default metrics are added by `render`). */
  readonly registry: Registry;
  /** `Content-Type` of `render`'s output (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** One WebSocket frame of `bytes` went `direction`. */
  frame(direction: FrameDirection, bytes: number): void;
  /** One synced storage batch took `seconds`. */
  storageWrite(seconds: number): void;
  /** The exposition text: this relay's series and the process's default metrics. */
  render(): Promise<string>;
}

/** Every `RejectReason`, so each series exists (at 0) before its first refusal; the type makes it exhaustive. */
const REJECT_REASONS = Object.keys({
  malformed: true,
  too_big: true,
  unsupported_version: true,
  handshake_timeout: true,
  heartbeat_timeout: true,
  unauthorized: true,
  forbidden: true,
  token_expired: true,
  read_only: true,
  rate_limited: true,
  too_many_docs: true,
  too_many_connections: true,
  update_rejected: true,
  awareness_rejected: true,
} satisfies Record<RejectReason, true>) as RejectReason[];

const CONNECTION_KINDS = [
  'multiplexed',
  'y-websocket',
  'peer',
] as const satisfies readonly (keyof ConnectionsByKind)[];

/** 1 ms to 5 s: a durable commit is a few ms on a healthy disk; seconds mean trouble. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Process metrics (RSS, heap, event-loop lag, GC, handles) describe the whole
 * process, not one relay: collected once per process into their own registry
 * (prom-client's collectors install observers that cannot be removed, so one
 * set per relay would leak in a test process starting many relays).
 */
let processRegistry: Registry | undefined;

function defaultMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Creates a relay's metrics. `source` is read at every scrape for the gauges
 * (`undefined` while the relay is still starting: the gauges read 0).
 */
export function createRelayMetrics(
  source: () => RelayGaugeSource | undefined,
): PrometheusRelayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const processMetrics = defaultMetricsRegistry();

  new Gauge({
    name: 'lattice_connections',
    help: 'Open WebSocket connections by kind (peer: relay links, dialed or accepted).',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const byKind = source()?.connectionsByKind;
      for (const kind of CONNECTION_KINDS) this.set({ kind }, byKind?.[kind] ?? 0);
    },
  });
  new Gauge({
    name: 'lattice_rooms_loaded',
    help: 'Rooms (docs) in memory, loading or loaded.',
    registers,
    collect() {
      this.set(source()?.rooms ?? 0);
    },
  });
  // Frames are tallied in plain numbers and handed to the counters when
  // scraped: even a bound series' `inc` (validation, hash-keyed store) per
  // frame was ~1.2 % of a busy relay's samples under fan-out.
  const tally = { in: { messages: 0, bytes: 0 }, out: { messages: 0, bytes: 0 } };
  const messages = new Counter({
    name: 'lattice_messages_total',
    help: 'WebSocket frames received (in) and sent (out).',
    labelNames: ['direction'] as const,
    registers,
    collect() {
      for (const direction of ['in', 'out'] as const) {
        this.inc({ direction }, tally[direction].messages);
        tally[direction].messages = 0;
      }
    },
  });
  const bytes = new Counter({
    name: 'lattice_bytes_total',
    help: 'Payload bytes of WebSocket frames received (in) and sent (out).',
    labelNames: ['direction'] as const,
    registers,
    collect() {
      for (const direction of ['in', 'out'] as const) {
        this.inc({ direction }, tally[direction].bytes);
        tally[direction].bytes = 0;
      }
    },
  });
  const ackLatency = new Histogram({
    name: 'lattice_ack_latency_seconds',
    help: 'Seconds from receiving a numbered client message to sending the Ack that covers it (durable commit included).',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const storageWrite = new Histogram({
    name: 'lattice_storage_write_seconds',
    help: 'Duration of one synced LevelDB batch write (group commit).',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const rejected = new Counter({
    name: 'lattice_rejected_total',
    help: 'Frames, messages and connections the relay refused, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const direction of ['in', 'out'] as const) {
    messages.inc({ direction }, 0);
    bytes.inc({ direction }, 0);
  }
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);

  return {
    registry,
    contentType: registry.contentType,
    rejected(reason) {
      rejected.inc({ reason });
    },
    ackLatency(seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) ackLatency.observe(seconds);
    },
    frame(direction, size) {
      const series = tally[direction];
      series.messages++;
      series.bytes += size;
    },
    storageWrite(seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) storageWrite.observe(seconds);
    },
    render() {
      return Registry.merge([registry, processMetrics]).metrics();
    },
  };
}
