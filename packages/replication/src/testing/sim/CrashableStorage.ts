import type { StorageAdapter, StoredDoc } from '../../ports.ts';

/** Rejection of every storage call made by a process after its crash. */
export class CrashedError extends Error {
  override name = 'CrashedError';
}

/**
 * One process's view of a disk: calls reach `disk` after a delay (the
 * latency of a real write), and complete in the order they were issued, as on
 * one IndexedDB connection or one LevelDB write queue. `crash()` loses every
 * call that has not completed yet and rejects all later ones; whatever had
 * completed stays on `disk` for the next incarnation.
 */
export class CrashableStorage implements StorageAdapter {
  readonly disk: StorageAdapter;
  #latency: () => number;
  #now: () => number;
  #lastDue = 0;
  #crashed = false;

  /**
   * `latency` is drawn per call (ms of the clock `now` reads, e.g. virtual
   * time under fake timers); 0 still completes on a later macrotask.
   */
  constructor(disk: StorageAdapter, options: { latency: () => number; now: () => number }) {
    this.disk = disk;
    this.#latency = options.latency;
    this.#now = options.now;
  }

  get crashed(): boolean {
    return this.#crashed;
  }

  /** From now on nothing reaches the disk; calls in flight never complete (they reject). */
  crash(): void {
    this.#crashed = true;
  }

  load(docName: string): Promise<StoredDoc> {
    return this.#call(() => this.disk.load(docName));
  }

  append(docName: string, updates: readonly Uint8Array[]): Promise<void> {
    // Copied now: the caller may reuse its buffers before the write lands.
    const copies = updates.map((u) => (u instanceof Uint8Array ? u.slice() : u));
    return this.#call(() => this.disk.append(docName, copies));
  }

  compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    return this.#call(() => this.disk.compact(docName, snapshot, cursor));
  }

  list(prefix: string): Promise<string[]> {
    return this.#call(() => this.disk.list(prefix));
  }

  delete(docName: string): Promise<void> {
    return this.#call(() => this.disk.delete(docName));
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#call(() => this.disk.getMeta(key));
  }

  setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    return this.#call(() => this.disk.setMeta(key, value));
  }

  /** The disk belongs to the node, not to this view: closing a view leaves it open. */
  async close(): Promise<void> {
    this.#crashed = true;
  }

  #call<T>(run: () => Promise<T>): Promise<T> {
    if (this.#crashed) return Promise.reject(new CrashedError('storage of a crashed process'));
    const now = this.#now();
    const latency = this.#latency();
    if (!(latency >= 0)) {
      return Promise.reject(new RangeError(`storage latency must be >= 0, got ${latency}`));
    }
    // Never before an earlier call: completion order is issue order.
    const due = Math.max(now + latency, this.#lastDue);
    this.#lastDue = due;
    return new Promise<T>((resolve, reject) => {
      setTimeout(() => {
        if (this.#crashed) reject(new CrashedError('crashed before the call completed'));
        else run().then(resolve, reject);
      }, due - now);
    });
  }
}
