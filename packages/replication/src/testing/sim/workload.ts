import type * as prng from 'lib0/prng';
import type { StorageAdapter } from '../../ports.ts';
import type { DocState, StateVectorMap } from './docState.ts';
import type { ReplicaNode } from './ReplicaNode.ts';

/** What a workload learns when a replica dies. */
export interface CrashInfo {
  /** `crash`: the process died, the disk survives; `device-lost`: the disk is gone too. */
  kind: 'crash' | 'device-lost';
  /** The device and incarnation that died (`node.device`, `node.incarnation` before the crash). */
  device: number;
  incarnation: number;
  /** The disk exactly as it survived the crash (for `device-lost`: the lost disk, for bookkeeping). */
  disk: StorageAdapter;
  /**
   * Whether the dead replica still counted local changes of `docName` as not
   * acked by any relay (always true for one that never finished a first
   * sync: it may not have read its stored markers yet).
   */
  pendingLocal(docName: string): boolean;
}

/** Read access a workload gets to the simulation for its own checks. */
export interface SimView {
  readonly seed: number;
  /** Virtual time now (ms). */
  now(): number;
  /** Highest state vector of `docName` acknowledged by any relay (data directories wiped since excluded). */
  ackedVector(docName: string): StateVectorMap;
  /** Whether some relay's data directory was wiped after time `t`. */
  wipedSince(t: number): boolean;
  /** Adds a line to the run's trace. */
  note(line: string): void;
}

/**
 * The application side of a simulation run: what runs on each replica and
 * what "nothing lost" means for it. The `Simulation` owns the network, the
 * nodes and virtual time; every promise returned here is awaited while
 * virtual time keeps running.
 */
export interface SimWorkload {
  /** A replica incarnation came up (new device or restart): open what the app opens. */
  attach(node: ReplicaNode, sim: SimView): Promise<void>;
  /**
   * The incarnation is gone (`crash`, already dead: drop references, write
   * nothing) or stopping at the end of the run (`shutdown`).
   */
  detach(node: ReplicaNode, how: 'crash' | 'shutdown'): void;
  /** Right after a crash or device loss, with the storage as it survived. */
  crashed(node: ReplicaNode, info: CrashInfo): Promise<void>;
  /** One user action on a running replica; returns a short description for the trace. */
  act(node: ReplicaNode, random: prng.PRNG): Promise<string>;
  /** Before the final quiet period: write out anything the app holds back. */
  flush(node: ReplicaNode): void;
  /** Checks of live app state on running, synced replicas; returns problems. */
  checkLive(sim: SimView): Promise<string[]>;
  /** Docs whose stored state must be identical on every replica and relay at the end. */
  docNames(final: (docName: string) => Promise<DocState>): Promise<string[]>;
  /** Checks of the converged state (`final` reads it); returns problems. */
  check(sim: SimView, final: (docName: string) => Promise<DocState>): Promise<string[]>;
  /** One line for the run's summary (counts of what was done and found). */
  summary(): string;
}
