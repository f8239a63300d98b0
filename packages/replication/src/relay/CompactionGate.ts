/**
 * Bounds how many rooms compact at once. A compaction reads the doc's stored
 * log and builds a doc from it: ~0.5 MB of garbage for a 500-update log.
 * Rooms written at the same steady pace reach their compaction threshold in
 * the same second, and 200 of them compacting together lifted the soak
 * relay's RSS by 100 MB (docs/OPERATIONS.md, "Soak"). A room that finds
 * every slot taken does not wait, which would hold back its next commit and
 * its acks: it compacts after a later commit instead.
 */
export class CompactionGate {
  readonly #max: number;
  #running = 0;

  constructor(max: number) {
    if (!(Number.isInteger(max) && max >= 1)) {
      throw new RangeError(`concurrent compactions must be a positive integer, got ${max}`);
    }
    this.#max = max;
  }

  /** Compactions running now. */
  get running(): number {
    return this.#running;
  }

  /** A slot and the function that frees it, or `undefined` when all are taken. */
  tryEnter(): (() => void) | undefined {
    if (this.#running >= this.#max) return undefined;
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
    };
  }
}
