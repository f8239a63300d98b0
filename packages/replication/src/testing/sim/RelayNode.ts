import * as Y from 'yjs';
import type { RelayCore } from '../../relay/RelayCore.ts';
import { MemoryStorage } from '../../storage/MemoryStorage.ts';
import type { CrashableStorage } from './CrashableStorage.ts';
import { mergeVectorInto, type StateVectorMap } from './docState.ts';

/**
 * One relay in the simulation: its data directory (kept across crashes,
 * emptied by a wipe), the `RelayCore` running on it, and every state vector
 * it acknowledged since its data directory was last wiped.
 */
export class RelayNode {
  readonly name: string;
  readonly index: number;
  readonly url: string;
  readonly relayId: string;
  #disk = new MemoryStorage();
  #generation = 1;
  #incarnation = 0;
  #storage: CrashableStorage | null = null;
  #core: RelayCore | null = null;
  /** How connection attempts fail while down: a dead process refuses, a dead machine blackholes. */
  #downMode: 'refuse' | 'blackhole' = 'refuse';
  #acked = new Map<string, StateVectorMap>();
  #ackCount = 0;
  /** Per doc, a state vector seen on the disk (which only grows until wiped). */
  #onDisk = new Map<string, StateVectorMap>();

  constructor(index: number) {
    this.index = index;
    this.name = `R${index}`;
    this.url = `memory://relay${index}/sync`;
    this.relayId = `relay-${index}`;
  }

  get disk(): MemoryStorage {
    return this.#disk;
  }

  get core(): RelayCore | null {
    return this.#core;
  }

  get up(): boolean {
    return this.#core !== null;
  }

  get downMode(): 'refuse' | 'blackhole' {
    return this.#downMode;
  }

  /** Counts data directories (a wipe starts a new one). */
  get generation(): number {
    return this.#generation;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get label(): string {
    return `${this.name}g${this.#generation}#${this.#incarnation}`;
  }

  /** Docs this relay acknowledged (itself or through a peer's `ClusterAck`) in its current data directory, with the highest state vector acked. */
  get acked(): ReadonlyMap<string, StateVectorMap> {
    return this.#acked;
  }

  /** `Ack` frames sent, over all incarnations and data directories. */
  get ackCount(): number {
    return this.#ackCount;
  }

  /** Records an `Ack` frame as sent (to a replica or a peer): a promise that `stateVector` of `docName` is on disk. */
  recordAck(docName: string, stateVector: Uint8Array): void {
    this.#ackCount++;
    this.#merge(docName, stateVector);
  }

  /** Records a peer's `ClusterAck` naming this relay: the same promise, made on its behalf. */
  recordClusterAck(docName: string, stateVector: Uint8Array): void {
    this.#merge(docName, stateVector);
  }

  #merge(docName: string, stateVector: Uint8Array): void {
    let known = this.#acked.get(docName);
    if (known === undefined) {
      known = new Map();
      this.#acked.set(docName, known);
    }
    mergeVectorInto(known, Y.decodeStateVector(stateVector));
  }

  /** Whether `stateVector` of `docName` was already seen on this data directory. */
  seenOnDisk(docName: string, stateVector: StateVectorMap): boolean {
    const seen = this.#onDisk.get(docName);
    if (seen === undefined) return false;
    for (const [client, clock] of stateVector) if ((seen.get(client) ?? 0) < clock) return false;
    return true;
  }

  /** Records that the disk held `stateVector` of `docName`. */
  sawOnDisk(docName: string, stateVector: StateVectorMap): void {
    let seen = this.#onDisk.get(docName);
    if (seen === undefined) {
      seen = new Map();
      this.#onDisk.set(docName, seen);
    }
    mergeVectorInto(seen, stateVector);
  }

  start(storage: CrashableStorage, core: RelayCore): void {
    if (this.#core !== null) throw new Error(`${this.name} is already running`);
    this.#incarnation++;
    this.#storage = storage;
    this.#core = core;
  }

  /** Kills the process: pending commits are lost; `mode` says how peers notice. */
  crash(mode: 'refuse' | 'blackhole'): RelayCore | null {
    const core = this.#core;
    if (core === null) return null;
    this.#downMode = mode;
    this.#storage?.crash();
    this.#storage = null;
    this.#core = null;
    // Frees its timers; its storage rejects, so nothing more is written or acked.
    core.close().catch(() => {});
    return core;
  }

  /** While down: the data directory is lost; acks given from it are void. */
  wipe(): void {
    if (this.#core !== null) throw new Error(`${this.name} must be down to wipe its data`);
    this.#disk = new MemoryStorage();
    this.#generation++;
    this.#acked.clear();
    this.#onDisk.clear();
  }

  /** Stops cleanly: pending commits are flushed. */
  async shutdown(): Promise<void> {
    const core = this.#core;
    if (core === null) return;
    this.#core = null;
    await core.close();
    this.#storage = null;
  }
}
