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
  type PeerProof,
  type Role,
  SYSTEM_DOC_PREFIX,
} from './access.ts';
export { docNameProblem } from './docNames.ts';
export { noopMetrics, type RejectReason, type RelayMetrics } from './metrics.ts';
export type { ClusterInfo, PeerDirection, PeerInfo, PeerLink } from './PeerLink.ts';
export { type ConnectionsByKind, RelayCore, type RelayCoreOptions } from './RelayCore.ts';
export type { RelayLog, Room, RoomMember } from './Room.ts';
export {
  type AwarenessEntry,
  type AwarenessLimits,
  checkAwarenessUpdate,
  checkUpdate,
  checkYMessage,
  DEFAULT_AWARENESS_LIMITS,
  DEFAULT_UPDATE_LIMITS,
  encodeAwarenessEntries,
  type UpdateLimits,
  UpdateRejectedError,
  type UpdateSummary,
} from './updateGuard.ts';
