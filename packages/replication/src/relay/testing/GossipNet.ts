import type { StorageAdapter } from '../../ports.ts';
import { MemoryStorage } from '../../storage/MemoryStorage.ts';
import { type FrameDirection, MemoryTransport } from '../../transport/MemoryTransport.ts';
import { RelayCore, type RelayCoreOptions } from '../RelayCore.ts';

/** Options of `GossipNet.relay`. */
export interface GossipRelayOptions extends Partial<RelayCoreOptions> {
  storage?: StorageAdapter;
}

/** A relay of a `GossipNet`. */
export interface GossipRelay {
  name: string;
  core: RelayCore;
  storage: StorageAdapter;
  /** Has a `peerProof`: its dialers are let in as proven peers, as the relay process does after checking their cluster-secret bearer. */
  peerAuth: boolean;
}

/**
 * In-memory relays joined by peer links over `MemoryTransport`s, with links
 * that can be cut (`cut`: closed and refused until `heal`) and a byte count
 * per link, for gossip tests without sockets.
 */
export class GossipNet {
  readonly relays = new Map<string, GossipRelay>();
  /** Cut pairs, `a|b` in both orders. */
  readonly #cut = new Set<string>();
  readonly #open = new Map<string, Set<MemoryTransport>>();
  /** Bytes carried per directed pair `from>to` (frames sent by `from`). */
  readonly bytes = new Map<string, number>();
  /** Transports opened per directed pair `from>to`. */
  readonly #dials = new Map<string, number>();

  relay(name: string, options: GossipRelayOptions = {}): GossipRelay {
    const storage = options.storage ?? new MemoryStorage();
    const core = new RelayCore({
      commitWindowMs: 1,
      heartbeatIntervalMs: 0,
      antiEntropyIntervalMs: 0,
      relayId: name,
      ...options,
      storage,
    });
    const relay = { name, core, storage, peerAuth: options.peerProof !== undefined };
    this.relays.set(name, relay);
    return relay;
  }

  /** `from` dials `to` (a peer link kept up by `from`). */
  link(from: string, to: string): void {
    this.#get(from).core.addPeer(`mem://${to}`, () => this.#transport(from, to));
  }

  #get(name: string): GossipRelay {
    const relay = this.relays.get(name);
    if (relay === undefined) throw new Error(`no relay ${name}`);
    return relay;
  }

  #transport(from: string, to: string): MemoryTransport {
    this.#dials.set(`${from}>${to}`, this.dials(from, to) + 1);
    const target = this.relays.get(to);
    const key = pairKey(from, to);
    const reachable = target !== undefined && !this.#cut.has(key);
    const count = (frame: Uint8Array, direction: FrameDirection) => {
      const k = direction === 'up' ? `${from}>${to}` : `${to}>${from}`;
      this.bytes.set(k, (this.bytes.get(k) ?? 0) + frame.length);
    };
    const t = new MemoryTransport(
      reachable
        ? (conn) =>
            target.core.acceptMultiplexed(conn, target.peerAuth ? { kind: 'peer' } : undefined)
        : null,
      { onFrame: count },
    );
    let set = this.#open.get(key);
    if (set === undefined) {
      set = new Set();
      this.#open.set(key, set);
    }
    set.add(t);
    return t;
  }

  /** Cuts every link between `a` and `b` and refuses new ones until `heal`. */
  cut(a: string, b: string): void {
    const key = pairKey(a, b);
    this.#cut.add(key);
    for (const t of this.#open.get(key) ?? []) t.sever('partition');
    this.#open.delete(key);
  }

  heal(a: string, b: string): void {
    this.#cut.delete(pairKey(a, b));
  }

  /** How often `from` dialed `to` so far. */
  dials(from: string, to: string): number {
    return this.#dials.get(`${from}>${to}`) ?? 0;
  }

  /** Bytes sent both ways between `a` and `b` so far. */
  bytesBetween(a: string, b: string): number {
    return (this.bytes.get(`${a}>${b}`) ?? 0) + (this.bytes.get(`${b}>${a}`) ?? 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.relays.values()].map((r) => r.core.close()));
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
