import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import type { HelloInfo } from '../protocol.ts';
import type { RelayMetrics } from './metrics.ts';
import type { RelayLog, Room, RoomMember } from './Room.ts';

/** What a connection session needs from the relay core that accepted it. */
export interface SessionContext {
  readonly relayId: string;
  readonly handshakeTimeoutMs: number;
  /** Docs one multiplexed client socket may subscribe at once. */
  readonly maxDocsPerConnection: number;
  /** Heartbeat probe period toward multiplexed peers (0: none). */
  readonly heartbeatIntervalMs: number;
  /** A multiplexed peer silent this long is closed with `HeartbeatTimeout`. */
  readonly heartbeatTimeoutMs: number;
  readonly log: RelayLog;
  readonly metrics: RelayMetrics;
  /** May a connection with `open` access become a peer link? (No cluster secret is configured.) */
  readonly openPeers: boolean;
  /** Loads the doc's room if needed and adds `member`; rejects when the doc cannot be loaded. */
  join(docName: string, member: RoomMember): Promise<Room>;
  /**
   * A multiplexed socket whose Hello said `role: 'peer'` becomes a peer link;
   * the returned handler takes every later frame. `ended` runs when the peer
   * session closes the socket itself.
   */
  acceptPeer(conn: RelayConnection, hello: HelloInfo, ended: () => void): ConnectionHandler;
  /** Per peer relay id, the latest state vector of `docName` it is known to hold durably. */
  clusterAcks(docName: string): Iterable<[string, Uint8Array]>;
  /** The session has ended (socket closed or closed by the relay). */
  ended(session: object): void;
}
