/**
 * The relay core: content-agnostic rooms shared by Lattice multiplexed sockets
 * and plain y-websocket sockets, with group-committed storage and acks, and
 * gossip with peer relays (push, digest anti-entropy, cluster acks).
 */

export { docNameProblem } from './docNames.ts';
export type { ClusterInfo, PeerDirection, PeerInfo, PeerLink } from './PeerLink.ts';
export { RelayCore, type RelayCoreOptions } from './RelayCore.ts';
export type { RelayLog } from './Room.ts';
