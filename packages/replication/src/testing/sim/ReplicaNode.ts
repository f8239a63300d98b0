import type { Replica } from '../../Replica.ts';
import { MemoryStorage } from '../../storage/MemoryStorage.ts';
import type { CrashableStorage } from './CrashableStorage.ts';

/**
 * One browser-like seat in the simulation: a device's disk (kept across
 * crashes, replaced when the device is lost) and the `Replica` currently
 * running on it, if any. The `Simulation` drives its lifecycle.
 */
export class ReplicaNode {
  readonly name: string;
  readonly index: number;
  #disk = new MemoryStorage();
  #device = 1;
  #incarnation = 0;
  #storage: CrashableStorage | null = null;
  #replica: Replica | null = null;

  constructor(index: number) {
    this.index = index;
    this.name = `r${index}`;
  }

  /** The device's storage as it stands (no latency; for checks, not for the replica). */
  get disk(): MemoryStorage {
    return this.#disk;
  }

  /** The running replica; `null` while crashed. */
  get replica(): Replica | null {
    return this.#replica;
  }

  get up(): boolean {
    return this.#replica !== null;
  }

  /** Counts starts (the first start is incarnation 1). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** Counts devices (a lost device is replaced by a new one with empty storage). */
  get device(): number {
    return this.#device;
  }

  /** `r1` plus device and incarnation, e.g. `r1d2#3`. */
  get label(): string {
    return `${this.name}d${this.#device}#${this.#incarnation}`;
  }

  /** Starts a new incarnation over `storage` (a fresh view of `disk`). */
  start(storage: CrashableStorage, replica: Replica): void {
    if (this.#replica !== null) throw new Error(`${this.name} is already running`);
    this.#incarnation++;
    this.#storage = storage;
    this.#replica = replica;
  }

  /**
   * Kills the running replica: storage calls not yet completed are lost and
   * its timers stop, nothing is flushed. Returns the dead replica (to read
   * its last status), or `null` when it was not running.
   */
  crash(): Replica | null {
    const replica = this.#replica;
    if (replica === null) return null;
    this.#storage?.crash();
    this.#storage = null;
    this.#replica = null;
    // Stops the link and timers; every storage call it makes now rejects.
    replica.destroy().catch(() => {});
    return replica;
  }

  /** After a crash: the device is gone; the next start runs on an empty disk. */
  replaceDevice(): MemoryStorage {
    if (this.#replica !== null) throw new Error(`${this.name} must be down to replace its device`);
    const old = this.#disk;
    this.#disk = new MemoryStorage();
    this.#device++;
    return old;
  }

  /** Stops the running replica cleanly (buffered writes complete). */
  async shutdown(): Promise<void> {
    const replica = this.#replica;
    if (replica === null) return;
    this.#replica = null;
    await replica.destroy();
    this.#storage = null;
  }
}
