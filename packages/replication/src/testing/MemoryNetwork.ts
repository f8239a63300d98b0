import type { TransportFactory } from '../ports.ts';
import { decodeFrame, FrameType } from '../protocol.ts';
import {
  type Acceptor,
  type DeliverySchedule,
  type FrameDirection,
  MemoryTransport,
} from '../transport/MemoryTransport.ts';

/** Frames seen on a `MemoryNetwork`, by direction and frame type. */
export interface FrameCounts {
  up: number;
  down: number;
  /** `Docs` frames only (the sync traffic, without Hello/Ack/Heartbeat). */
  docsUp: number;
  docsDown: number;
}

/**
 * A switchable in-memory network between front ends and relay acceptors
 * (by URL): hands out `MemoryTransport`s through `factory`, counts frames,
 * and can go offline (refusing and severing connections) or half-open.
 */
export class MemoryNetwork {
  readonly counts: FrameCounts = { up: 0, down: 0, docsUp: 0, docsDown: 0 };
  /** Every transport handed out, oldest first. */
  readonly transports: MemoryTransport[] = [];
  #acceptors: Map<string, Acceptor>;
  #online = true;
  #schedule: DeliverySchedule | undefined;
  #observe: ((frame: Uint8Array, direction: FrameDirection) => void) | undefined;

  constructor(
    acceptors: Record<string, Acceptor>,
    options: {
      schedule?: DeliverySchedule;
      /** Sees every frame sent on any link of this network. */
      observe?: (frame: Uint8Array, direction: FrameDirection) => void;
    } = {},
  ) {
    this.#acceptors = new Map(Object.entries(acceptors));
    this.#schedule = options.schedule;
    this.#observe = options.observe;
  }

  /** Pass as `ReplicaOptions.transportFactory`. */
  readonly factory: TransportFactory = (url) => {
    const acceptor = this.#online ? (this.#acceptors.get(url) ?? null) : null;
    const transport = new MemoryTransport(acceptor, {
      ...(this.#schedule ? { schedule: this.#schedule } : {}),
      onFrame: (frame, direction) => this.#count(frame, direction),
    });
    this.transports.push(transport);
    return transport;
  };

  /** Makes `acceptor` reachable at `url` (replacing any acceptor there). */
  addAcceptor(url: string, acceptor: Acceptor): void {
    this.#acceptors.set(url, acceptor);
  }

  get online(): boolean {
    return this.#online;
  }

  /** Offline: open links drop (as on a network failure) and new ones are refused. */
  setOnline(online: boolean): void {
    this.#online = online;
    if (!online) for (const t of this.transports) t.sever('network offline');
  }

  /** Every open link goes silent without closing (half-open sockets); new links still work. */
  silenceAll(): void {
    for (const t of this.transports) if (t.state === 'open') t.silence();
  }

  /** Transports currently open. */
  openTransports(): MemoryTransport[] {
    return this.transports.filter((t) => t.state === 'open' && !t.silent);
  }

  resetCounts(): void {
    Object.assign(this.counts, { up: 0, down: 0, docsUp: 0, docsDown: 0 });
  }

  #count(frame: Uint8Array, direction: FrameDirection): void {
    this.#observe?.(frame, direction);
    let isDocs = false;
    try {
      isDocs = decodeFrame(frame).type === FrameType.Docs;
    } catch {
      // Malformed frames are counted, just not as Docs.
    }
    if (direction === 'up') {
      this.counts.up++;
      if (isDocs) this.counts.docsUp++;
    } else {
      this.counts.down++;
      if (isDocs) this.counts.docsDown++;
    }
  }
}
