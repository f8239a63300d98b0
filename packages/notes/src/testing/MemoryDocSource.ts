import type { DocChangeListener, DocHandle, DocSource } from '@lattice/replication';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

/** Origin of the update that fills a live doc from storage (it must not be stored again). */
const LOAD_ORIGIN = Symbol('MemoryDocSource.load');
/** Origin of updates received from another replica (`applyUpdate`). */
export const REMOTE_ORIGIN = Symbol('MemoryDocSource.remote');

/** Merge a doc's update log into one update once it grows past this many entries. */
const COMPACT_AFTER = 32;

interface LiveDoc {
  doc: Y.Doc;
  awareness: Awareness;
  refs: number;
}

/** Options of a `MemoryDocSource`. */
export interface MemoryDocSourceOptions {
  /**
   * Client ids for the live docs this source creates. Seeded tests pass a
   * deterministic sequence so a failing run replays exactly. Default: random.
   */
  clientIds?: () => number;
}

/**
 * A real in-memory `DocSource`: live `Y.Doc`s for open docs (shared and
 * reference-counted), an update log per stored doc, tracking, change
 * notifications and a meta area. Connect two of them with `transfer` or
 * `exchange` to test replicas that diverge and merge.
 */
export class MemoryDocSource implements DocSource {
  #stored = new Map<string, Uint8Array[]>();
  #live = new Map<string, LiveDoc>();
  #tracked = new Set<string>();
  #meta = new Map<string, Uint8Array>();
  #listeners = new Set<(docName: string) => void>();
  #clientIds: (() => number) | undefined;

  constructor(options: MemoryDocSourceOptions = {}) {
    this.#clientIds = options.clientIds;
  }

  async open(docName: string): Promise<DocHandle> {
    assertDocName(docName);
    let live = this.#live.get(docName);
    if (live === undefined) {
      live = this.#load(docName);
      this.#live.set(docName, live);
    }
    live.refs++;
    const doc = live;
    let released = false;
    return {
      docName,
      doc: doc.doc,
      awareness: doc.awareness,
      whenLoaded: Promise.resolve(),
      // This source keeps no session record (no session guarantees): always current.
      current: true,
      onCurrentChange: () => () => {},
      release: () => {
        if (released) return;
        released = true;
        this.#release(docName, doc);
      },
    };
  }

  track(docName: string): void {
    assertDocName(docName);
    this.#tracked.add(docName);
  }

  untrack(docName: string): void {
    this.#tracked.delete(docName);
  }

  /** A doc still open elsewhere stays usable; its later updates are stored afresh. */
  async forget(docName: string): Promise<void> {
    assertDocName(docName);
    this.#tracked.delete(docName);
    this.#stored.delete(docName);
  }

  async readStored(docName: string): Promise<Uint8Array> {
    assertDocName(docName);
    return this.encodeDiff(docName);
  }

  onDocChanged(listener: DocChangeListener): () => void {
    // Wrap so that subscribing the same function twice yields two subscriptions.
    const entry = (docName: string) => listener(docName);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    const value = this.#meta.get(key);
    return value === undefined ? undefined : value.slice();
  }

  async setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    if (value === undefined) this.#meta.delete(key);
    else this.#meta.set(key, value.slice());
  }

  // ---- test helpers (not part of DocSource) ----

  /** Whether `docName` is tracked or open, i.e. this replica syncs it. */
  isInterested(docName: string): boolean {
    return this.#tracked.has(docName) || this.#live.has(docName);
  }

  isTracked(docName: string): boolean {
    return this.#tracked.has(docName);
  }

  isOpen(docName: string): boolean {
    return this.#live.has(docName);
  }

  /** Names of docs with stored updates, sorted. */
  storedDocNames(): string[] {
    return [...this.#stored.keys()].sort();
  }

  /** Keys of the meta area, sorted. */
  metaKeys(): string[] {
    return [...this.#meta.keys()].sort();
  }

  /** The stored state vector of `docName` (empty for an unknown doc). */
  stateVector(docName: string): Uint8Array {
    return Y.encodeStateVectorFromUpdate(this.encodeDiff(docName));
  }

  /** What a replica with `stateVector` lacks of `docName` (everything when omitted). */
  encodeDiff(docName: string, stateVector?: Uint8Array): Uint8Array {
    const updates = this.#stored.get(docName) ?? [];
    const merged = updates.length === 1 && updates[0] ? updates[0] : Y.mergeUpdates(updates);
    return stateVector === undefined ? merged : Y.diffUpdate(merged, stateVector);
  }

  /**
   * Applies an update received from another replica, as the sync layer
   * would: into the live doc when open, else into storage. Listeners hear
   * about it when it changed something and this replica is interested.
   */
  applyUpdate(docName: string, update: Uint8Array): void {
    assertDocName(docName);
    const live = this.#live.get(docName);
    if (live !== undefined) {
      // The live doc's update handler stores and announces it.
      Y.applyUpdate(live.doc, update, REMOTE_ORIGIN);
      return;
    }
    if (!changes(this.encodeDiff(docName), update)) return;
    this.#store(docName, update);
  }

  #load(docName: string): LiveDoc {
    const doc = new Y.Doc();
    if (this.#clientIds !== undefined) doc.clientID = this.#clientIds();
    const stored = this.#stored.get(docName);
    if (stored !== undefined && stored.length > 0) {
      Y.applyUpdate(doc, this.encodeDiff(docName), LOAD_ORIGIN);
    }
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== LOAD_ORIGIN) this.#store(docName, update);
    });
    return { doc, awareness: new Awareness(doc), refs: 0 };
  }

  #release(docName: string, live: LiveDoc): void {
    live.refs--;
    if (live.refs > 0 || this.#live.get(docName) !== live) return;
    this.#live.delete(docName);
    live.awareness.destroy();
    live.doc.destroy();
  }

  #store(docName: string, update: Uint8Array): void {
    let updates = this.#stored.get(docName);
    if (updates === undefined) {
      updates = [];
      this.#stored.set(docName, updates);
    }
    updates.push(update);
    if (updates.length > COMPACT_AFTER) updates.splice(0, updates.length, Y.mergeUpdates(updates));
    if (!this.isInterested(docName)) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(docName);
      } catch (error) {
        // A failing listener must not break storage or other listeners; rethrow
        // outside so that the test still sees it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function assertDocName(docName: unknown): asserts docName is string {
  if (typeof docName !== 'string' || docName.length === 0) {
    throw new TypeError(`doc name must be a non-empty string, got ${JSON.stringify(docName)}`);
  }
}

/** Whether applying `update` to the state `base` adds anything (content or deletions). */
function changes(base: Uint8Array, update: Uint8Array): boolean {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, base);
  let changed = false;
  doc.on('update', () => {
    changed = true;
  });
  Y.applyUpdate(doc, update);
  doc.destroy();
  return changed;
}
