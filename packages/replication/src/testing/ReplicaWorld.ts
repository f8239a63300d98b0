import * as Y from 'yjs';
import type { ReplicaOptions } from '../Replica.ts';
import { Replica } from '../Replica.ts';
import type { Access } from '../relay/access.ts';
import { RelayCore, type RelayCoreOptions } from '../relay/RelayCore.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import type { DeliverySchedule, FrameDirection } from '../transport/MemoryTransport.ts';
import { MemoryNetwork } from './MemoryNetwork.ts';

/** URL under which a `ReplicaWorld`'s relay is reachable on its network. */
export const WORLD_RELAY_URL = 'memory://relay/sync';

/**
 * One in-memory relay (`RelayCore` over `MemoryStorage`) on a `MemoryNetwork`,
 * and replicas connected to it with test-friendly timings. `close()` tears
 * everything down.
 */
export class ReplicaWorld {
  readonly relayStorage = new MemoryStorage();
  readonly relay: RelayCore;
  readonly network: MemoryNetwork;
  readonly replicas: Replica[] = [];
  /** Errors reported by replicas made here without their own `onError` (timeouts, bad frames). */
  readonly errors: Error[] = [];
  #tokens = 0;

  constructor(
    options: {
      relay?: Omit<RelayCoreOptions, 'storage'>;
      /** Delivery schedule of the network (see `MemoryTransport`). */
      schedule?: DeliverySchedule;
      /** Sees every frame on the network. */
      observe?: (frame: Uint8Array, direction: FrameDirection) => void;
    } = {},
  ) {
    const { relay, ...network } = options;
    this.relay = new RelayCore({ ...relay, storage: this.relayStorage });
    this.network = new MemoryNetwork(
      { [WORLD_RELAY_URL]: (conn) => this.relay.acceptMultiplexed(conn) },
      network,
    );
  }

  /**
   * A URL under which this world's relay accepts connections with `access`,
   * as if the relay had verified a token to it (`?token=…`: each call makes a
   * new one, like a new share link).
   */
  urlFor(access: Access): string {
    const url = `${WORLD_RELAY_URL}?token=t${++this.#tokens}`;
    this.network.addAcceptor(url, (conn) => this.relay.acceptMultiplexed(conn, access));
    return url;
  }

  /**
   * A URL whose connections the relay accepts and closes at once with `code`
   * (4401, 4403, 4419: how a relay answers a token it refuses).
   */
  refusingUrl(code: number, reason: string): string {
    const url = `${WORLD_RELAY_URL}?token=t${++this.#tokens}`;
    this.network.addAcceptor(url, (conn) => {
      queueMicrotask(() => conn.close(code, reason));
      return { receive: () => {}, closed: () => {} };
    });
    return url;
  }

  /** Stores on the relay, for each name, a doc whose body is `text of <name>`. */
  async seedRelay(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, `text of ${name}`);
      await this.relayStorage.append(name, [Y.encodeStateAsUpdate(doc)]);
    }
  }

  /** A replica on this world's network (fresh `MemoryStorage` unless given). */
  replica(options: Partial<ReplicaOptions> = {}): Replica {
    const replica = new Replica({
      storage: new MemoryStorage(),
      relays: [WORLD_RELAY_URL],
      transportFactory: this.network.factory,
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 300,
      backoff: { baseMs: 5, maxMs: 50 },
      onError: (error) => this.errors.push(error),
      ...options,
    });
    this.replicas.push(replica);
    return replica;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.destroy()));
    await this.relay.close();
  }
}
