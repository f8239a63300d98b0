/**
 * @lattice/replication/testing — harnesses for tests of the replication core
 * and of code built on it.
 */

export * from '../relay/testing/index.ts';
export type {
  Acceptor,
  DeliverySchedule,
  FrameDirection,
  MemoryTransportOptions,
} from '../transport/MemoryTransport.ts';
export { MemoryTransport } from '../transport/MemoryTransport.ts';
export { type FrameCounts, MemoryNetwork } from './MemoryNetwork.ts';
export { ReplicaWorld, WORLD_RELAY_URL } from './ReplicaWorld.ts';
export { storageContract } from './storageContract.ts';
