import type { NoteHandle, NoteStore } from '@lattice/notes';

/** Notes held open at most: the list's rendered rows (a screen plus overscan). */
export const WARM_CAPACITY = 32;

/** How much of an idle period is left (`IdleDeadline`); absent when a timer stood in for one. */
export interface IdleTime {
  timeRemaining(): number;
  readonly didTimeout: boolean;
}

/** Runs `task` when the page is idle; returns a function that cancels it. */
export type IdleScheduler = (task: (idle?: IdleTime) => void) => () => void;

/** `requestIdleCallback` (with a deadline, so a busy page still warms), else a short timer. */
export const browserIdle: IdleScheduler = (task) => {
  if (typeof window !== 'undefined' && typeof window.requestIdleCallback === 'function') {
    const handle = window.requestIdleCallback((deadline) => task(deadline), { timeout: 200 });
    return () => window.cancelIdleCallback(handle);
  }
  const timer = setTimeout(task, 20);
  return () => clearTimeout(timer);
};

/** Rows (list order) whose held notes also get the preparer's idle work: every row held. */
export const PREPARE_ROWS = WARM_CAPACITY;

/**
 * Idle time (ms) an idle period must still have for one more preparation
 * (each is 1–2 ms; a period offers up to 50), and the time a period that
 * timed out (a busy page: background sync at start-up) may spend on them.
 * One per period made the click 300 ms after start-up find its row
 * unprepared in 6 of 12 clicks (bench `coldload`).
 */
const PREPARE_SLICE_MS = 4;
const PREPARE_BUSY_MS = 8;

/**
 * Idle work for a held note beyond opening it (its editor state, made ahead
 * of the click). Asked row by row in list order, after the rows above are
 * held, as many as an idle period has time for; told when the warmer lets a
 * note go.
 */
export interface NotePreparer {
  /** Whether preparing `handle` now would do anything. */
  needs(handle: NoteHandle): boolean;
  prepare(handle: NoteHandle): void;
  /** The warmer released `handle`: drop what was prepared for it. */
  forget(handle: NoteHandle): void;
}

export interface NoteWarmerOptions {
  capacity?: number;
  idle?: IdleScheduler;
  preparer?: NotePreparer;
  /** How many of the first rows in view are prepared (default `PREPARE_ROWS`). */
  prepareRows?: number;
}

/**
 * Holds the notes in view open, so a click shows one without starting I/O
 * (bench `coldload`, click → note text): a warm note is a live doc of the
 * replica, which applies every later change (relay, other tabs, local edits)
 * to it, so opening it from memory shows nothing older than a fresh read
 * would — the same doc a pane that stayed open would hold.
 *
 * Opens one note per idle period, the list's order first, and only after
 * `start` (the first screen is up), so it never competes with the list or the
 * note being opened. At most `capacity` notes are held, least recently in
 * view released first.
 */
export class NoteWarmer {
  readonly #store: NoteStore;
  readonly #capacity: number;
  readonly #idle: IdleScheduler;
  readonly #preparer: NotePreparer | null;
  readonly #prepareRows: number;
  /** Held notes, least recently wanted first. */
  readonly #held = new Map<string, NoteHandle>();
  /** Failed to open (gone, or no title): not retried until they leave the view. */
  readonly #failed = new Set<string>();
  #wanted: readonly string[] = [];
  #started = false;
  #disposed = false;
  /** Opens in flight. */
  readonly #opening = new Set<string>();
  #cancelIdle: (() => void) | null = null;

  constructor(store: NoteStore, options: NoteWarmerOptions = {}) {
    const capacity = options.capacity ?? WARM_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`NoteWarmer: capacity must be a non-negative integer, got ${capacity}`);
    }
    this.#store = store;
    this.#capacity = capacity;
    this.#idle = options.idle ?? browserIdle;
    this.#preparer = options.preparer ?? null;
    this.#prepareRows = options.prepareRows ?? PREPARE_ROWS;
  }

  /** The notes in view now, most important first; earlier ones may stay held while there is room. */
  want(ids: readonly string[]): void {
    if (this.#disposed) return;
    this.#wanted = ids.slice(0, this.#capacity);
    const wanted = new Set(this.#wanted);
    for (const id of this.#failed) if (!wanted.has(id)) this.#failed.delete(id);
    for (const [id, handle] of this.#held) {
      // Purged notes: their doc is gone, holding the handle only keeps garbage.
      if (this.#store.get(id) === undefined) {
        this.#held.delete(id);
        this.#let(handle);
      }
    }
    // Refresh recency in view order, so the rows in view are evicted last.
    for (const id of this.#wanted) {
      const handle = this.#held.get(id);
      if (handle === undefined) continue;
      this.#held.delete(id);
      this.#held.set(id, handle);
    }
    this.#evict();
    this.#pump();
  }

  /**
   * Opens the first `count` notes in view at once (their storage reads start
   * now, ahead of background sync's answers); resolves when each is held or
   * failed, never rejects. The top rows are where the next click most likely
   * lands (bench `coldload`).
   */
  warmFirst(count: number): Promise<void> {
    const ids = this.#wanted
      .slice(0, Math.max(0, count))
      .filter((id) => !this.#held.has(id) && !this.#failed.has(id) && !this.#opening.has(id));
    if (this.#disposed) return Promise.resolve();
    return Promise.all(ids.map((id) => this.#warm(id))).then(() => {});
  }

  /**
   * The first screen is up: warming may begin. Called again (a note was
   * shown), it looks for idle work anew: the preparer's answer may have
   * changed (its module loaded, a note's editor closed).
   */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  get store(): NoteStore {
    return this.#store;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Ids held open now (least recently wanted first); for tests and diagnostics. */
  get held(): string[] {
    return [...this.#held.keys()];
  }

  /** Releases every held note; the warmer does nothing afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#cancelIdle?.();
    this.#cancelIdle = null;
    for (const handle of this.#held.values()) this.#let(handle);
    this.#held.clear();
  }

  #pump(): void {
    if (!this.#started || this.#disposed || this.#opening.size > 0 || this.#cancelIdle !== null) {
      return;
    }
    if (this.#next() === undefined) return;
    this.#cancelIdle = this.#idle((idle) => {
      this.#cancelIdle = null;
      const until = performance.now() + PREPARE_BUSY_MS;
      const hasTime =
        idle === undefined || idle.didTimeout
          ? () => performance.now() < until
          : () => idle.timeRemaining() >= PREPARE_SLICE_MS;
      for (let first = true; ; first = false) {
        // Chosen now, not when scheduled: the view may have moved meanwhile.
        const next = this.#next();
        if (next === undefined || this.#disposed) return;
        if (!first && !hasTime()) break;
        if (next.held === undefined) {
          if (!first) break;
          // Settles later and pumps again.
          void this.#warm(next.id);
          return;
        }
        this.#prepare(next.id, next.held);
      }
      this.#pump();
    });
  }

  #prepare(id: string, handle: NoteHandle): void {
    try {
      this.#preparer?.prepare(handle);
    } catch (error) {
      // Only a head start is lost: the editor makes its state itself on open.
      console.error(error);
      this.#failed.add(id);
    }
  }

  /** The first row in view still to open, or (within the first rows) a held one still to prepare. */
  #next(): { id: string; held?: NoteHandle } | undefined {
    for (const [row, id] of this.#wanted.entries()) {
      if (this.#failed.has(id) || this.#opening.has(id)) continue;
      const held = this.#held.get(id);
      if (held === undefined) return { id };
      if (this.#preparer !== null && row < this.#prepareRows && this.#preparer.needs(held)) {
        return { id, held };
      }
    }
    return undefined;
  }

  /** Opens `id` and holds it; settles (never rejects) once it is held or failed. */
  #warm(id: string): Promise<void> {
    this.#opening.add(id);
    return this.#store.openNote(id).then(
      (handle) => {
        this.#opening.delete(id);
        if (this.#disposed) {
          handle.release();
          return;
        }
        this.#held.set(id, handle);
        this.#evict();
        this.#pump();
      },
      () => {
        this.#opening.delete(id);
        this.#failed.add(id);
        this.#pump();
      },
    );
  }

  #evict(): void {
    for (const [id, handle] of this.#held) {
      if (this.#held.size <= this.#capacity) return;
      this.#held.delete(id);
      this.#let(handle);
    }
  }

  /** Lets a held note go, with whatever was prepared for it. */
  #let(handle: NoteHandle): void {
    this.#preparer?.forget(handle);
    handle.release();
  }
}
