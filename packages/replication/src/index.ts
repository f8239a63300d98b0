/**
 * @lattice/replication — the AP core: wire protocol, storage and transport
 * ports, the front end (`Replica`) and the content-agnostic relay core.
 */

export { type BackoffOptions, backoffDelay } from './backoff.ts';
export type * from './ports.ts';
export * from './protocol.ts';
export { Replica, type ReplicaOptions } from './Replica.ts';
export * from './relay/index.ts';
export type * from './replicationInfo.ts';
/** Thrown by `Replica.importSession` for a token it cannot read. */
export { SessionRecordError } from './session/sessionRecord.ts';
export { IndexedDbStorage } from './storage/IndexedDbStorage.ts';
export { MemoryStorage } from './storage/MemoryStorage.ts';
/** Whether a finished transaction changed its doc (what Yjs checks before an `update` event). */
export { transactionChanged } from './transactionChanged.ts';
export { WebSocketTransport } from './transport/WebSocketTransport.ts';
