/** What the store knows of one doc's log without reading it. */
interface KnownLog {
  /** The last sequence number used (a reservation chain: each append waits on the one before). */
  last: Promise<number> | undefined;
  /** A sequence number no record of the doc is below. */
  start: number | undefined;
  /** Writes to the doc under way: an entry with any is never forgotten. */
  writing: number;
  /** Used again since it was added or last spared: spared once more when its turn to go comes. */
  used: boolean;
}

/**
 * `LevelStorage`'s knowledge of its docs' log ends, for at most `capacity`
 * docs. Beyond it, docs are forgotten oldest first, sparing once a doc used
 * again since (second chance: a use sets a flag, where moving the entry to
 * the end would churn the map's table on every write), never one with a
 * write under way; a forgotten doc's next write reads its keys again. Forgetting a doc (an
 * eviction, a delete) advances `epoch`: a load begun before it may have read
 * a log that writes have since moved past, so it teaches nothing (`learn`).
 */
export class KnownLogs {
  readonly #capacity: number;
  readonly #logs = new Map<string, KnownLog>();
  #epoch = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#logs.size;
  }

  last(docName: string): Promise<number> | undefined {
    return this.#logs.get(docName)?.last;
  }

  start(docName: string): number | undefined {
    return this.#logs.get(docName)?.start;
  }

  /** A reservation: the doc's last number once it settles. */
  setLast(docName: string, last: Promise<number>): void {
    this.#use(docName).last = last;
  }

  /** Drops `last` if it is still the doc's (a reservation that failed). */
  dropLast(docName: string, last: Promise<number>): void {
    const log = this.#logs.get(docName);
    if (log?.last === last) log.last = undefined;
  }

  setStart(docName: string, start: number | undefined): void {
    this.#use(docName).start = start;
  }

  /**
   * What a load read: the log's last number and lowest record. Kept where
   * nothing is known yet (a write under way knows better than a read), and
   * only if nothing was forgotten since the load began at `epoch`.
   */
  learn(docName: string, last: number, start: number, epoch: number): void {
    if (epoch !== this.#epoch) return;
    const log = this.#use(docName);
    log.last ??= Promise.resolve(last);
    log.start ??= start;
  }

  /** Runs `write` as a write under way to the doc: its entry stays until it settles. */
  async writing<T>(docName: string, write: () => Promise<T>): Promise<T> {
    const log = this.#use(docName);
    log.writing++;
    try {
      return await write();
    } finally {
      log.writing--;
      // Left over capacity while this write held it.
      this.#evict();
    }
  }

  /** Forgets the doc (deleted). */
  forget(docName: string): void {
    this.#logs.delete(docName);
    this.#epoch++;
  }

  /** The doc's entry, marked used, or made. */
  #use(docName: string): KnownLog {
    const known = this.#logs.get(docName);
    if (known !== undefined) {
      known.used = true;
      return known;
    }
    const log: KnownLog = { last: undefined, start: undefined, writing: 0, used: false };
    this.#logs.set(docName, log);
    this.#evict(docName);
    return log;
  }

  /** Forgets docs over capacity, oldest first, except `keep` (in use) and docs being written. */
  #evict(keep?: string): void {
    // Spared docs go to the end and come round again, unmarked: two passes at most.
    let turns = 2 * this.#logs.size;
    for (const [docName, log] of this.#logs) {
      if (this.#logs.size <= this.#capacity || turns-- === 0) break;
      if (log.writing > 0 || docName === keep) continue;
      this.#logs.delete(docName);
      if (log.used) {
        log.used = false;
        this.#logs.set(docName, log);
      } else {
        this.#epoch++;
      }
    }
  }
}
