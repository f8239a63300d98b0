/**
 * @lattice/replication — the AP core: wire protocol, storage and transport
 * ports, the front end (`Replica`) and the content-agnostic relay core.
 */

export type * from './ports.ts';
export * from './protocol.ts';
