import type { NoteHandle, NoteStore } from '@lattice/notes';

/** Notes held open at most: the list's rendered rows (a screen plus overscan). */
export const WARM_CAPACITY = 32;

/** Runs `task` when the page is idle; returns a function that cancels it. */
export type IdleScheduler = (task: () => void) => () => void;

/** `requestIdleCallback` (with a deadline, so a busy page still warms), else a short timer. */
export const browserIdle: IdleScheduler = (task) => {
  if (typeof window !== 'undefined' && typeof window.requestIdleCallback === 'function') {
    const handle = window.requestIdleCallback(task, { timeout: 200 });
    return () => window.cancelIdleCallback(handle);
  }
  const timer = setTimeout(task, 20);
  return () => clearTimeout(timer);
};

export interface NoteWarmerOptions {
  capacity?: number;
  idle?: IdleScheduler;
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
        handle.release();
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

  /** The first screen is up: warming may begin. */
  start(): void {
    if (this.#started) return;
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
    for (const handle of this.#held.values()) handle.release();
    this.#held.clear();
  }

  #pump(): void {
    if (!this.#started || this.#disposed || this.#opening.size > 0 || this.#cancelIdle !== null) {
      return;
    }
    if (this.#next() === undefined) return;
    this.#cancelIdle = this.#idle(() => {
      this.#cancelIdle = null;
      // Chosen now, not when scheduled: the view may have moved meanwhile.
      const id = this.#next();
      if (id !== undefined && !this.#disposed) void this.#warm(id);
    });
  }

  #next(): string | undefined {
    return this.#wanted.find(
      (id) => !this.#held.has(id) && !this.#failed.has(id) && !this.#opening.has(id),
    );
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
      handle.release();
    }
  }
}
