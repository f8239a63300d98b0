/**
 * What the front end tells people about replication: per relay, per doc, and
 * for the whole workspace. Plain data; `Replica.replicationInfo()` and
 * `Replica.docReplicationInfo()` return fresh snapshots.
 */

import type { HelloAccess } from './protocol.ts';

/** Why the relays refuse this replica's token: 4401, 4403 (or `DocError(Forbidden)`), 4419. */
export type AccessProblem = 'unauthorized' | 'forbidden' | 'expired';

/** What the relays let this replica do (`Replica.access`). */
export interface ReplicaAccess {
  /** From the relay's latest `Hello` (kept while offline); `null`: not told yet, or a y-websocket server. */
  role: HelloAccess | null;
  /** Set when the relay refused the token; the replica then stops reconnecting until `setRelays` gets new URLs. */
  problem: AccessProblem | null;
  /** The relay's close reason (or `DocError` reason) for `problem`; '' when none. */
  reason: string;
}

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
  /** "On N of M relays": how many relays of the cluster hold every local change. */
  cluster: ClusterSummary;
}

/**
 * How many relays hold this replica's changes. A relay holds a doc when the
 * state vector it acked (its own `Ack`, or a `ClusterAck` relayed by the relay
 * we are connected to) covers this replica's state vector of the doc and the
 * doc has no local change still waiting for an ack (`pendingLocal`: deletions
 * advance no state vector, so only the connected relay's ack clears them).
 */
export interface ClusterSummary {
  /** Relays that hold every local change of every doc this replica knows. */
  relaysHoldingAll: number;
  /** Distinct relays known: the configured list plus every relay id heard of. */
  relaysKnown: number;
}

/** One doc's replication status. */
export interface DocReplicationInfo {
  docName: string;
  pendingLocal: boolean;
  /** This replica's state vector, sorted by client id (for a doc not open: as of its last exchange or storage read). */
  local: StateVectorEntry[];
  /**
   * Per known relay (configured ones first, in order, then relays heard of
   * only through cluster acks): the highest state vector it acked (merged, so
   * it never goes back). For a y-websocket server: what it confirmed receiving.
   */
  acked: AckedVector[];
}

/** What one relay acked of a doc. */
export interface AckedVector {
  /** The relay's id from its `Hello` or a `ClusterAck`; '' when it never said (y-websocket servers, before the first handshake). */
  relayId: string;
  /** The relay's URL when known (configured), else ''. */
  relayUrl: string;
  stateVector: StateVectorEntry[];
}
