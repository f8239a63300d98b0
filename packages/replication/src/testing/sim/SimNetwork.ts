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

/** One transport, as the network sees it: a replica or relay dialed a relay. */
export interface SimLink {
  /** The dialing node: a replica, or a relay dialing a peer. */
  readonly from: string;
  /** The relay dialed. */
  readonly to: string;
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
  /**
   * Periodic background traffic that never stops by itself, so it does not
   * count toward `inFlight` (default: heartbeats only).
   */
  isBackground?: (frame: Uint8Array) => boolean;
}

const heartbeatsOnly = (frame: Uint8Array) => frame[0] === FrameType.Heartbeat;

const ignoreAll = (): ConnectionHandler => ({ receive: () => {}, closed: () => {} });

/**
 * The simulated network between replicas and relays: hands each node (a
 * replica, or a relay dialing its peers) a `TransportFactory`, delays,
 * reorders, duplicates and drops frames under a seeded random — on
 * replica↔relay and relay↔relay links alike — and cuts any set of node pairs
 * (a partition) visibly or silently. Counts frames still in flight so a run can tell when
 * sync traffic has stopped.
 */
export class SimNetwork {
  readonly stats: NetworkStats = { frames: 0, dropped: 0, duplicated: 0, reordered: 0, links: 0 };
  #o: SimNetworkOptions;
  #endpoints = new Map<string, { relay: string; resolve: () => Endpoint }>();
  /** Blocked node pairs (`pairKey`, either direction) and how new connections fail. */
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

  /** The transport factory of node `node` (a replica, or a relay dialing peers). */
  factoryFor(node: string): TransportFactory {
    return (url) => this.#connect(node, url);
  }

  /** Sync frames (anything but background traffic) scheduled and not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Open, non-silent links (pruning closed ones). */
  openLinks(): SimLink[] {
    this.#links = this.#links.filter((l) => l.transport.state !== 'closed');
    return this.#links.filter((l) => l.transport.state === 'open' && !l.transport.silent);
  }

  /**
   * Cuts the pair `a`↔`b` (replica↔relay or relay↔relay, whoever dialed):
   * open links between them end (`mode`), new ones fail until `unblock`.
   */
  block(a: string, b: string, mode: CutMode): void {
    this.#blocked.set(pairKey(a, b), mode);
    for (const link of this.#links) {
      if (pairKey(link.from, link.to) === pairKey(a, b)) this.#cut(link, mode);
    }
  }

  unblock(a: string, b: string): void {
    this.#blocked.delete(pairKey(a, b));
  }

  isBlocked(a: string, b: string): boolean {
    return this.#blocked.has(pairKey(a, b));
  }

  unblockAll(): void {
    this.#blocked.clear();
  }

  /** Ends every link touching `node` (a replica or relay name), e.g. when it crashes. */
  cutNode(node: string, mode: CutMode): void {
    for (const link of this.#links) {
      if (link.from === node || link.to === node) this.#cut(link, mode);
    }
  }

  #cut(link: SimLink, mode: CutMode): void {
    if (link.transport.state === 'closed') return;
    if (mode === 'silent') link.transport.silence();
    else link.transport.sever('network cut');
  }

  #connect(from: string, url: string): MemoryTransport {
    const endpoint = this.#endpoints.get(url);
    let target: Endpoint = 'refuse';
    if (endpoint) {
      const blocked = this.#blocked.get(pairKey(from, endpoint.relay));
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
      from,
      to: endpoint?.relay ?? `unknown:${url}`,
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
    // Heartbeats (and other periodic chatter) never stop; only sync traffic counts toward "in flight".
    const counted = !(this.#o.isBackground ?? heartbeatsOnly)(frame);
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

/** The same key for `a`↔`b` and `b`↔`a`: a cut is symmetric, whoever dials. */
function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
