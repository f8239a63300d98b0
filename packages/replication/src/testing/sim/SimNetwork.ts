import * as prng from 'lib0/prng';
import type { ConnectionHandler, TransportFactory } from '../../ports.ts';
import { FrameType } from '../../protocol.ts';
import {
  type Acceptor,
  type FrameDirection,
  MemoryTransport,
} from '../../transport/MemoryTransport.ts';

/** What happens to frames on a link (docs/ARCHITECTURE.md "Fault model"). */
export interface LinkFaults {
  /** One-way delay of a frame, uniform in [min, max] ms. */
  latencyMs: readonly [number, number];
  /** Chance that a frame ignores FIFO order (it may overtake earlier frames or be overtaken). */
  reorder: number;
  /** Chance that a frame arrives twice. */
  duplicate: number;
  /** Chance that a frame is lost; the connection ends with it, visibly or half-open. */
  drop: number;
}

/** How a cut shows: `visible` closes links (and refuses new ones), `silent` leaves them half-open (and blackholes new ones). */
export type CutMode = 'visible' | 'silent';

/** What a relay URL answers with: its acceptor, or no process behind it. */
export type Endpoint = Acceptor | 'refuse' | 'blackhole';

/** One transport from a replica to a relay, as the network sees it. */
export interface SimLink {
  readonly replica: string;
  readonly relay: string;
  readonly transport: MemoryTransport;
  /** Latest delivery time used so far per direction, so FIFO frames never overtake. */
  lastDue: Record<FrameDirection, number>;
}

/** Counters of what the network did to frames. */
export interface NetworkStats {
  frames: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  links: number;
}

export interface SimNetworkOptions {
  random: prng.PRNG;
  now: () => number;
  faults: LinkFaults;
  /** Sees every frame when it is sent (before any fault), with its link. */
  observe?: (link: SimLink, frame: Uint8Array, direction: FrameDirection) => void;
}

const ignoreAll = (): ConnectionHandler => ({ receive: () => {}, closed: () => {} });

/**
 * The simulated network between replicas and relays: hands each replica a
 * `TransportFactory`, delays, reorders, duplicates and drops frames under a
 * seeded random, and cuts any set of replica↔relay pairs (a partition)
 * visibly or silently. Counts frames still in flight so a run can tell when
 * sync traffic has stopped.
 */
export class SimNetwork {
  readonly stats: NetworkStats = { frames: 0, dropped: 0, duplicated: 0, reordered: 0, links: 0 };
  #o: SimNetworkOptions;
  #endpoints = new Map<string, { relay: string; resolve: () => Endpoint }>();
  /** Blocked replica↔relay pairs (`replica|relay`) and how new connections fail. */
  #blocked = new Map<string, CutMode>();
  #links: SimLink[] = [];
  #inFlight = 0;

  constructor(options: SimNetworkOptions) {
    const [min, max] = options.faults.latencyMs;
    if (!(min >= 0 && max >= min)) throw new RangeError(`bad latency range [${min}, ${max}]`);
    for (const key of ['reorder', 'duplicate', 'drop'] as const) {
      const p = options.faults[key];
      if (!(p >= 0 && p <= 1)) throw new RangeError(`${key} must be a probability, got ${p}`);
    }
    this.#o = options;
  }

  /** Makes `url` reach relay `relay`; `resolve` says what answers right now (it changes across crashes). */
  addEndpoint(relay: string, url: string, resolve: () => Endpoint): void {
    this.#endpoints.set(url, { relay, resolve });
  }

  /** The transport factory of replica `replica`. */
  factoryFor(replica: string): TransportFactory {
    return (url) => this.#connect(replica, url);
  }

  /** Sync frames (anything but heartbeats) scheduled and not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Open, non-silent links (pruning closed ones). */
  openLinks(): SimLink[] {
    this.#links = this.#links.filter((l) => l.transport.state !== 'closed');
    return this.#links.filter((l) => l.transport.state === 'open' && !l.transport.silent);
  }

  /** Cuts replica↔relay: open links end (`mode`), new ones fail until `unblock`. */
  block(replica: string, relay: string, mode: CutMode): void {
    this.#blocked.set(`${replica}|${relay}`, mode);
    for (const link of this.#links) {
      if (link.replica === replica && link.relay === relay) this.#cut(link, mode);
    }
  }

  unblock(replica: string, relay: string): void {
    this.#blocked.delete(`${replica}|${relay}`);
  }

  isBlocked(replica: string, relay: string): boolean {
    return this.#blocked.has(`${replica}|${relay}`);
  }

  unblockAll(): void {
    this.#blocked.clear();
  }

  /** Ends every link touching `node` (a replica or relay name), e.g. when it crashes. */
  cutNode(node: string, mode: CutMode): void {
    for (const link of this.#links) {
      if (link.replica === node || link.relay === node) this.#cut(link, mode);
    }
  }

  #cut(link: SimLink, mode: CutMode): void {
    if (link.transport.state === 'closed') return;
    if (mode === 'silent') link.transport.silence();
    else link.transport.sever('network cut');
  }

  #connect(replica: string, url: string): MemoryTransport {
    const endpoint = this.#endpoints.get(url);
    let target: Endpoint = 'refuse';
    if (endpoint) {
      const blocked = this.#blocked.get(`${replica}|${endpoint.relay}`);
      if (blocked === 'visible') target = 'refuse';
      else if (blocked === 'silent') target = 'blackhole';
      else target = endpoint.resolve();
    }
    const acceptor: Acceptor | null =
      target === 'refuse' ? null : target === 'blackhole' ? ignoreAll : target;
    let link: SimLink | null = null;
    const transport = new MemoryTransport(acceptor, {
      schedule: (deliver, frame, direction) => {
        if (link) this.#schedule(link, deliver, frame, direction);
      },
      onFrame: (frame, direction) => {
        this.stats.frames++;
        if (link) this.#o.observe?.(link, frame, direction);
      },
    });
    link = {
      replica,
      relay: endpoint?.relay ?? `unknown:${url}`,
      transport,
      lastDue: { up: 0, down: 0 },
    };
    this.stats.links++;
    this.#links.push(link);
    return transport;
  }

  #schedule(
    link: SimLink,
    deliver: () => void,
    frame: Uint8Array,
    direction: FrameDirection,
  ): void {
    const { faults, random } = this.#o;
    if (faults.drop > 0 && prng.real53(random) < faults.drop) {
      this.stats.dropped++;
      this.#cut(link, prng.bool(random) ? 'silent' : 'visible');
      return;
    }
    const now = this.#o.now();
    const [min, max] = faults.latencyMs;
    let due = now + min + prng.real53(random) * (max - min);
    if (faults.reorder > 0 && prng.real53(random) < faults.reorder) {
      this.stats.reordered++;
    } else {
      due = Math.max(due, link.lastDue[direction]);
      link.lastDue[direction] = due;
    }
    // Heartbeats never stop; only sync traffic counts toward "in flight".
    const counted = frame[0] !== FrameType.Heartbeat;
    const at = (time: number) => {
      if (counted) this.#inFlight++;
      setTimeout(() => {
        if (counted) this.#inFlight--;
        deliver();
      }, time - now);
    };
    at(due);
    if (faults.duplicate > 0 && prng.real53(random) < faults.duplicate) {
      this.stats.duplicated++;
      at(due + prng.real53(random) * (max - min + 1));
    }
  }
}
