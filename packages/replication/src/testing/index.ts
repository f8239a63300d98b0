/**
 * @lattice/replication/testing — harnesses for tests of the replication core
 * and of code built on it.
 */

export * from '../relay/testing/index.ts';
export type {
  Acceptor,
  DeliverySchedule,
  FrameDirection,
  LinkControl,
  MemoryTransportOptions,
} from '../transport/MemoryTransport.ts';
export { MemoryTransport } from '../transport/MemoryTransport.ts';
export { type FaultyScheduleOptions, faultySchedule } from './faultySchedule.ts';
export {
  MUTATIONS,
  type Mutation,
  mutateFrame,
  type Random,
  seededRandom,
} from './frameMutator.ts';
export { type FrameCounts, MemoryNetwork } from './MemoryNetwork.ts';
export { NaiveSessionTracker } from './NaiveSessionTracker.ts';
export { ReplicaWorld, WORLD_RELAY_URL } from './ReplicaWorld.ts';
export { SessionHistory } from './SessionHistory.ts';
export { CrashableStorage, CrashedError } from './sim/CrashableStorage.ts';
export {
  type DeleteSet,
  type DocState,
  describeDoc,
  docStateOf,
  formatVector,
  mergeVectorInto,
  missingDeletions,
  missingFrom,
  rangeDeleted,
  readStoredDoc,
  type StateVectorMap,
  sameState,
  sameVector,
} from './sim/docState.ts';
export { withoutPushes } from './sim/peerFaults.ts';
export { RelayNode } from './sim/RelayNode.ts';
export { ReplicaNode } from './sim/ReplicaNode.ts';
export {
  type CutMode,
  type Endpoint,
  type LinkFaults,
  type NetworkStats,
  type SimLink,
  SimNetwork,
  type SimNetworkOptions,
} from './sim/SimNetwork.ts';
export {
  DEFAULT_LINK_FAULTS,
  DEFAULT_STEP_WEIGHTS,
  DEFAULT_TIMING,
  type SimClock,
  type SimReport,
  type SimStepWeights,
  type SimTiming,
  type SimTopology,
  Simulation,
  type SimulationOptions,
} from './sim/Simulation.ts';
export { VirtualTime } from './sim/VirtualTime.ts';
export type { CrashInfo, SimView, SimWorkload } from './sim/workload.ts';
export { storageContract } from './storageContract.ts';
export { withSeed } from './withSeed.ts';
