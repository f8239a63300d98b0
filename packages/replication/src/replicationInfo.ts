/**
 * What the front end tells people about replication: per relay, per doc, and
 * for the whole workspace. Plain data; `Replica.replicationInfo()` and
 * `Replica.docReplicationInfo()` return fresh snapshots.
 */

/** A relay to sync with. `y-websocket`: `url` is the server base (doc sockets at `${url}/${docName}`). */
export interface RelayEndpoint {
  url: string;
  protocol: 'lattice' | 'y-websocket';
}

/** One entry of a state vector. */
export interface StateVectorEntry {
  clientId: number;
  clock: number;
}

/** A session guarantee the shown replica does not (yet) meet. */
export interface SessionWarning {
  docName: string;
  guarantee: 'read-your-writes' | 'monotonic-reads' | 'writes-follow-reads' | 'monotonic-writes';
  /** For people, e.g. "This note is still arriving from the relay". */
  message: string;
}

/** One configured relay as this front end sees it. */
export interface RelayInfo {
  url: string;
  protocol: 'lattice' | 'y-websocket';
  /** From the relay's `Hello` (`null` before the first handshake, and for y-websocket servers). */
  relayId: string | null;
  /** `standby`: configured, but not the relay in use. */
  state: 'connected' | 'connecting' | 'offline' | 'standby';
  /** When this relay last acknowledged something (for y-websocket: confirmed delivery), ms epoch. */
  lastAckAt: number | null;
  /** Round trip of the latest answered heartbeat (y-websocket: of the latest sync step 1). */
  heartbeatRttMs: number | null;
}

/** The workspace's replication status. */
export interface ReplicationInfo {
  /** One per configured relay, in configured order. */
  relays: RelayInfo[];
  /** No local change is waiting to be written to local storage. */
  savedOnDevice: boolean;
  /** Docs holding local changes no relay has acked. */
  pendingDocs: number;
  /** When a relay last completed an exchange or ack with us (ms epoch). */
  lastSyncAt: number | null;
  /** From the session-guarantees module (empty when all is current). */
  sessionWarnings: SessionWarning[];
}

/** One doc's replication status. */
export interface DocReplicationInfo {
  docName: string;
  pendingLocal: boolean;
  /** This replica's state vector, sorted by client id (for a doc not open: as of its last exchange or storage read). */
  local: StateVectorEntry[];
  /**
   * Per configured relay: the highest state vector it acked (merged, so it
   * never goes back). For a y-websocket server: what it confirmed receiving.
   */
  acked: { relayUrl: string; stateVector: StateVectorEntry[] }[];
}
