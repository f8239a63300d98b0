import type { StorageAdapter, StoredDoc } from '@lattice/replication';

/**
 * Storage that keeps summaries and lists meta keys: the replica decides from
 * the adapter's shape, when it is built, whether to use them, so a stand-in
 * must know the shape before the real adapter exists.
 */
export type SummarizingStorage = StorageAdapter &
  Required<Pick<StorageAdapter, 'putSummary' | 'loadSummaries' | 'metaKeys'>>;

/**
 * A storage adapter usable while the real one is still opening: every call
 * waits for it and then goes to it, in call order (each call is one reaction
 * on the same promise, and those run in registration order); once it is open
 * and those have gone, calls go straight to it. This lets a replica be built, and its socket
 * connect, while a new IndexedDB database is being created (bench `coldload`,
 * fresh device), instead of one after the other.
 *
 * If opening fails, every call rejects with that error and `close` resolves.
 */
export class DeferredStorage implements SummarizingStorage {
  readonly #ready: Promise<SummarizingStorage>;
  #open: SummarizingStorage | null = null;
  /** Calls waiting on `#ready`: until they have gone, later calls queue behind them. */
  #queued = 0;

  constructor(opening: Promise<SummarizingStorage>) {
    this.#ready = opening.then((storage) => {
      this.#open = storage;
      return storage;
    });
    // Whoever awaits `opening` reports a failure; calls reject on their own.
    this.#ready.catch(() => undefined);
  }

  /** Resolves with the real adapter once it is open; rejects if opening failed. */
  get ready(): Promise<SummarizingStorage> {
    return this.#ready;
  }

  #call<T>(op: (storage: SummarizingStorage) => Promise<T>): Promise<T> {
    const open = this.#open;
    // Straight through only when nothing queued is still to go: code that runs
    // between the open and the queued calls' turn must not overtake them.
    if (open !== null && this.#queued === 0) return op(open);
    this.#queued++;
    return this.#ready.then(
      (storage) => {
        this.#queued--;
        return op(storage);
      },
      (error: unknown) => {
        this.#queued--;
        throw error;
      },
    );
  }

  load(docName: string): Promise<StoredDoc> {
    return this.#call((s) => s.load(docName));
  }

  append(docName: string, updates: readonly Uint8Array[], summary?: Uint8Array): Promise<void> {
    return this.#call((s) => s.append(docName, updates, summary));
  }

  compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    return this.#call((s) => s.compact(docName, snapshot, cursor));
  }

  list(prefix: string): Promise<string[]> {
    return this.#call((s) => s.list(prefix));
  }

  delete(docName: string): Promise<void> {
    return this.#call((s) => s.delete(docName));
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#call((s) => s.getMeta(key));
  }

  setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    return this.#call((s) => s.setMeta(key, value));
  }

  putSummary(docName: string, summary: Uint8Array, cursor: number): Promise<boolean> {
    return this.#call((s) => s.putSummary(docName, summary, cursor));
  }

  loadSummaries(): Promise<Map<string, Uint8Array>> {
    return this.#call((s) => s.loadSummaries());
  }

  metaKeys(prefix: string): Promise<string[]> {
    return this.#call((s) => s.metaKeys(prefix));
  }

  /** Closes the real adapter once open; nothing to close if opening failed. */
  close(): Promise<void> {
    return this.#ready.then(
      (s) => s.close(),
      () => undefined,
    );
  }
}
