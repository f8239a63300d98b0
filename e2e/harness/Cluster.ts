import { type FaultMode, FaultProxy, type ProxyBytes } from './FaultProxy.ts';
import { RelayProcess } from './RelayProcess.ts';

/** Faults that separate two relays: new links are reset (`refuse`) or swallowed (`blackhole`). */
export type CutMode = 'refuse' | 'blackhole';

export interface ClusterOptions {
  /** One relay per name, in this order (default `['A', 'B', 'C']`); names must be unique. */
  names?: readonly string[];
  /** Extra `pnpm relay` arguments for every relay, e.g. `['--anti-entropy-interval', '2000']`. */
  relayArgs?: readonly string[];
}

/** `GET /api/cluster` as the relay app serves it (agreed issue-4 API). */
export interface ClusterJson {
  relayId: string;
  url: string | null;
  relays: string[];
  lastAntiEntropyAt: number | null;
  peers: Array<{
    url: string | null;
    relayId: string | null;
    direction: 'outbound' | 'inbound';
    state: 'connected' | 'connecting' | 'down';
    lagOps: number | null;
    lastAntiEntropyAt: number | null;
    lastAntiEntropyBytes: { sent: number; received: number } | null;
  }>;
}

/** Where a proxy forwards to: the relay's port at the moment of each new connection (0 until it runs). */
class RelaySlot {
  relay: RelayProcess | null = null;
  get port(): number {
    return this.relay?.running ? this.relay.port : 0;
  }
}

interface Member {
  name: string;
  slot: RelaySlot;
  /** In front of the relay for browsers and Node clients; the relay's `--public-url`. */
  front: FaultProxy;
}

const key = (from: string, to: string) => `${from}->${to}`;

/**
 * N real relay processes gossiping in a full mesh, with a `FaultProxy` on
 * every relay↔relay path: relay X reaches Y only through `link(X, Y)` (its
 * `--peer` URL), so any pair can be cut independently of the others and of
 * the clients. Each relay also has its own client-facing proxy (`front`),
 * announced as its `--public-url`, so a page served through it keeps its
 * origin across relay restarts and `/api/cluster` hands out addresses that
 * browsers can reach. `dispose` kills every process and closes every proxy.
 */
export class Cluster {
  #members = new Map<string, Member>();
  #links = new Map<string, FaultProxy>();
  #relayArgs: readonly string[];

  private constructor(relayArgs: readonly string[]) {
    this.#relayArgs = relayArgs;
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const names = options.names ?? ['A', 'B', 'C'];
    if (names.length === 0) throw new RangeError('a cluster needs at least one relay');
    if (new Set(names).size !== names.length) {
      throw new RangeError(`relay names must be unique, got ${JSON.stringify(names)}`);
    }
    const cluster = new Cluster(options.relayArgs ?? []);
    try {
      // Every proxy exists before any relay starts: the relays' arguments name their ports.
      for (const name of names) await cluster.#addMember(name);
      await Promise.all(names.map((name) => cluster.#startRelay(name, names)));
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  get names(): string[] {
    return [...this.#members.keys()];
  }

  relay(name: string): RelayProcess {
    const relay = this.#member(name).slot.relay;
    if (!relay) throw new Error(`relay ${name} has not started`);
    return relay;
  }

  /** The proxy clients use to reach relay `name` (load the app from its `url`). */
  front(name: string): FaultProxy {
    return this.#member(name).front;
  }

  /** The proxy relay `from` dials to reach relay `to`. */
  link(from: string, to: string): FaultProxy {
    this.#member(from);
    this.#member(to);
    const proxy = this.#links.get(key(from, to));
    if (!proxy) throw new Error(`no link ${from} → ${to}`);
    return proxy;
  }

  /** Sets both directions between two relays (whichever one dialled, the link is affected). */
  setLink(a: string, b: string, mode: FaultMode): void {
    if (a === b) throw new RangeError(`a relay has no link to itself (${a})`);
    this.link(a, b).set(mode);
    this.link(b, a).set(mode);
  }

  /**
   * Cuts the cluster into `groups` (every relay in exactly one): links between
   * groups get `mode`, links inside a group pass. Clients' front proxies are untouched.
   */
  partition(groups: readonly (readonly string[])[], mode: CutMode = 'refuse'): void {
    const groupOf = new Map<string, number>();
    groups.forEach((group, i) => {
      for (const name of group) {
        this.#member(name);
        if (groupOf.has(name)) throw new RangeError(`relay ${name} is in two groups`);
        groupOf.set(name, i);
      }
    });
    const missing = this.names.filter((n) => !groupOf.has(n));
    if (missing.length > 0) throw new RangeError(`relays in no group: ${missing.join(', ')}`);
    for (const a of this.names) {
      for (const b of this.names) {
        if (a < b) this.setLink(a, b, groupOf.get(a) === groupOf.get(b) ? 'pass' : mode);
      }
    }
  }

  /** Every relay↔relay link passes again (held traffic flows, new dials go through). */
  heal(): void {
    for (const proxy of this.#links.values()) proxy.pass();
  }

  /** Bytes delivered over every relay↔relay link since start or `resetLinkBytes`. */
  linkBytes(): ProxyBytes {
    const total = { up: 0, down: 0 };
    for (const proxy of this.#links.values()) {
      const { up, down } = proxy.bytes;
      total.up += up;
      total.down += down;
    }
    return total;
  }

  resetLinkBytes(): void {
    for (const proxy of this.#links.values()) proxy.resetBytes();
  }

  /**
   * Adds a relay with an empty data directory that dials every current relay
   * (they learn it from its inbound links; they were not started with it).
   */
  async join(name: string): Promise<RelayProcess> {
    if (this.#members.has(name)) throw new RangeError(`relay ${name} already exists`);
    const dialled = this.names;
    await this.#addMember(name);
    await this.#startRelay(name, [...dialled, name]);
    return this.relay(name);
  }

  /** `kill -9`: a crash, nothing flushed. The proxies stay, so `resume` brings it back on the same addresses. */
  async kill(name: string): Promise<void> {
    await this.relay(name).stop('SIGKILL');
  }

  async resume(name: string): Promise<void> {
    await this.relay(name).resume();
  }

  /** `GET /api/cluster` straight from the relay (not through its front proxy). */
  async info(name: string): Promise<ClusterJson> {
    const response = await fetch(`${this.relay(name).url}/api/cluster`);
    if (!response.ok) throw new Error(`GET /api/cluster on ${name}: HTTP ${response.status}`);
    return (await response.json()) as ClusterJson;
  }

  /** Kills every relay, removes their data directories, closes every proxy. */
  async dispose(): Promise<void> {
    await Promise.all(
      [...this.#members.values()].map(async (m) => {
        await m.slot.relay?.dispose();
        await m.front.close();
      }),
    );
    await Promise.all([...this.#links.values()].map((p) => p.close()));
    this.#members.clear();
    this.#links.clear();
  }

  #member(name: string): Member {
    const member = this.#members.get(name);
    if (!member) throw new RangeError(`no relay named ${JSON.stringify(name)} in ${this.names}`);
    return member;
  }

  /** The member's front proxy and the links between it and every existing member, both ways. */
  async #addMember(name: string): Promise<void> {
    const slot = new RelaySlot();
    const member: Member = { name, slot, front: await FaultProxy.start(slot) };
    for (const other of this.#members.values()) {
      this.#links.set(key(name, other.name), await FaultProxy.start(other.slot));
      this.#links.set(key(other.name, name), await FaultProxy.start(slot));
    }
    this.#members.set(name, member);
  }

  /** Starts `name` with `--peer` through the links to every other name in `peers`. */
  async #startRelay(name: string, peers: readonly string[]): Promise<void> {
    const member = this.#member(name);
    const peerArgs = peers
      .filter((p) => p !== name)
      .flatMap((p) => ['--peer', `ws://127.0.0.1:${this.link(name, p).port}`]);
    member.slot.relay = await RelayProcess.start({
      extraArgs: ['--public-url', member.front.url, ...peerArgs, ...this.#relayArgs],
    });
  }
}
