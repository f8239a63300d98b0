/**
 * The relay core: content-agnostic rooms shared by Lattice multiplexed sockets
 * and plain y-websocket sockets, with group-committed storage and acks, and
 * gossip with peer relays (push, digest anti-entropy, cluster acks).
 */

export {
  type Access,
  docInWorkspace,
  mayRead,
  mayWrite,
  OPEN_ACCESS,
  type Role,
  SYSTEM_DOC_PREFIX,
} from './access.ts';
export { docNameProblem } from './docNames.ts';
export { noopMetrics, type RejectReason, type RelayMetrics } from './metrics.ts';
export type { ClusterInfo, PeerDirection, PeerInfo, PeerLink } from './PeerLink.ts';
export { RelayCore, type RelayCoreOptions } from './RelayCore.ts';
export type { RelayLog } from './Room.ts';
