import type { HistogramData } from './histogram.ts';

/**
 * Which server a load generator talks to. `floor`: the transport floor, a
 * minimal `ws` server speaking the Lattice protocol (forward + ack, no CRDT,
 * no storage) — a reference for what the wire alone costs on Node.
 */
export type System = 'lattice' | 'hocuspocus' | 'floor';

/** Systems whose clients speak the Lattice multiplexed protocol (and get `Ack`s). */
export function speaksLattice(system: System): boolean {
  return system !== 'hocuspocus';
}

/** One simulated person: a socket of their own, one doc, typing. */
export interface ClientSpec {
  /** Unique across all generators of one measurement (the stamp key prefix). */
  id: string;
  doc: string;
}

/** Parent → generator. */
export type GeneratorCommand =
  | { kind: 'setup'; system: System; url: string; clients: ClientSpec[]; seed: number }
  | {
      kind: 'run';
      /** Wall-clock ms (`performance.timeOrigin + performance.now()`, shared by all processes). */
      startAt: number;
      /** Samples count only for edits sent in [measureFrom, measureTo). */
      measureFrom: number;
      measureTo: number;
      /** Edits per second per client (intervals jittered uniformly ±50 %). */
      rate: number;
      /** After `measureTo`, how long to keep receiving before reporting. */
      drainMs: number;
    }
  | { kind: 'close' };

export interface SerializedHistogram {
  buckets: HistogramData;
  max: number;
}

/** Generator → parent. */
export type GeneratorReply =
  | { kind: 'ready'; connectMs: number }
  | {
      kind: 'result';
      delivery: SerializedHistogram;
      ack: SerializedHistogram;
      /** Edits sent inside the window by this generator's clients. */
      sentInWindow: number;
      /** Edits sent in total (warm-up and window). */
      sentTotal: number;
      /** Deliveries of window edits observed by this generator's clients. */
      deliveredInWindow: number;
      /** Acks received for window edits (Lattice only). */
      ackedInWindow: number;
      /** Sockets that closed during the run (should be 0). */
      closed: number;
      /** Timer lateness of the generator itself (p99, ms): large means the generator was starved. */
      lagP99Ms: number;
    }
  | { kind: 'error'; message: string };

/** The shared clock of every process on this machine (sub-millisecond). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
