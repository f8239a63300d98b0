import {
  type DocHandle,
  type DocSource,
  isEmptyUpdate,
  transactionChanged,
} from '@lattice/replication';
import { toBase64 } from 'lib0/buffer';
import { simpleDiffString } from 'lib0/diff';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { covers, decodeDeps, encodeDeps, mergeDeps, type StateMap, stateMapOf } from './deps.ts';
import { everHeld } from './everHeld.ts';
import { assertIdSegment, newId, noteDocName } from './ids.ts';
import { BODY_TEXT, EntryKey, NOTES_MAP, readEntry } from './indexEntry.ts';
import { LinkIndex } from './links/LinkIndex.ts';
import { checkNoteInit, type NoteInit } from './noteInit.ts';
import { SearchIndex } from './SearchIndex.ts';
import { snippet, snippetAround, tokenize } from './text.ts';
import { yieldTurn } from './yieldTurn.ts';

/** One note as the list shows it. */
export interface NoteSummary {
  id: string;
  title: string;
  /** First ~120 characters of the body text, whitespace collapsed. */
  snippet: string;
  createdAt: number;
  updatedAt: number;
  trashedAt: number | null;
  /**
   * The note doc here does not yet hold what its index entry depends on
   * (`deps`, written on create and rename): show "arriving", not the body
   * (`snippet` is what arrived so far).
   */
  arriving: boolean;
}

/** A note linking to another (`NoteStore.backlinks`). */
export interface Backlink {
  /** The linking note. */
  id: string;
  title: string;
  /** The linking line as plain text. */
  snippet: string;
  /** How often it links to the note. */
  count: number;
}

/** A search result; its snippet shows where the query matched. */
export interface SearchHit extends NoteSummary {
  score: number;
}

/** An open note. Call `release` when the UI stops showing it. */
export interface NoteHandle {
  readonly id: string;
  readonly docName: string;
  readonly doc: Y.Doc;
  readonly body: Y.Text;
  /** The title, which lives in the index doc. */
  readonly title: Y.Text;
  readonly awareness: Awareness;
  /**
   * The note doc does not yet hold what its index entry depends on: show
   * "arriving" instead of the body. Edits made meanwhile are kept; the rest
   * merges in when it arrives.
   */
  readonly arriving: boolean;
  /**
   * Resolves once `arriving` is false; rejects when the note is closed
   * (its last handle released), purged, or the store closed first.
   */
  whenArrived(): Promise<void>;
  release(): void;
}

/** Options of `NoteStore.open`. */
export interface NoteStoreOptions {
  workspaceId: string;
  source: DocSource;
  /** Clock for timestamps (ms). Default `Date.now`. */
  now?: () => number;
}

/** Meta key of the persisted search index. */
export const SEARCH_META_KEY = 'search-index';
/** Meta key of the persisted link index (backlinks). */
export const LINKS_META_KEY = 'link-index';
/** Local edits write a note's `updatedAt` at most this often; the list shows it at once. */
export const TOUCH_INTERVAL_MS = 1000;
/** Quiet time before changed notes are re-indexed. */
const INDEX_DEBOUNCE_MS = 150;
/** The guid of the throwaway docs bodies are read through (never synced, never a subdoc). */
const SCRATCH_DOC_GUID = 'lattice:note-store:scratch';

/** Notes arriving with their stored state are indexed once none arrived for this long… */
const ARRIVAL_QUIET_MS = 150;
/** …or this long after the first of them, whichever is sooner. */
const ARRIVAL_MAX_DEFER_MS = 3000;
/** Indexing yields to the event loop after this much work in one go. */
const INDEX_SLICE_MS = 8;
/** Quiet time before the search index is persisted. */
const PERSIST_DEBOUNCE_MS = 500;
const DEFAULT_SEARCH_LIMIT = 50;

type Timer = ReturnType<typeof setTimeout>;

interface OpenNote {
  handle: DocHandle;
  refs: number;
  /** Snippet of the live body, recomputed lazily after changes. */
  snippet: string | null;
  onTransaction: (tr: Y.Transaction) => void;
  /** `whenArrived` callers waiting for the rest of the note. */
  arrivals: Set<{ resolve: () => void; reject: (error: Error) => void }>;
}

const byRecency = (a: NoteSummary, b: NoteSummary): number =>
  b.updatedAt - a.updatedAt ||
  b.createdAt - a.createdAt ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The notes of one workspace: an index doc (titles, timestamps, trash) plus a
 * note doc per note, loaded only when opened and synced in the background.
 * Keeps an in-memory list and an incremental, persisted search index.
 */
export class NoteStore {
  readonly workspaceId: string;
  readonly indexDoc: Y.Doc;
  /** Awareness of the index doc: who is in the workspace (and which note they have open). */
  readonly indexAwareness: Awareness;
  #source: DocSource;
  #now: () => number;
  #indexHandle: DocHandle;
  #notes: Y.Map<unknown>;
  #prefix: string;
  #closed = false;
  #unsubscribeSource: () => void;

  // The list: summaries cached per note, sorted lists rebuilt after any change.
  #summaries = new Map<string, NoteSummary>();
  #sorted: { active: NoteSummary[]; trashed: NoteSummary[] } | null = null;
  #listeners = new Set<() => void>();
  #notifyQueued = false;

  #tracked = new Set<string>();
  #open = new Map<string, OpenNote>();
  #opening = new Map<string, Promise<OpenNote>>();
  #forgetting = new Map<string, Promise<void>>();

  // Throttled `updatedAt` writes: the newest unwritten local edit time per note,
  // and the notes written less than TOUCH_INTERVAL_MS ago.
  #pendingTouch = new Map<string, number>();
  #touchCooldown = new Map<string, Timer>();

  // Search: notes whose body must be re-read (value bumps on every change so a
  // change during a read is not lost), notes whose read failed, the run in flight.
  #search: SearchIndex;
  #dirty = new Map<string, number>();
  #dirtyGeneration = 0;
  #failed = new Set<string>();
  /**
   * A note doc's whole stored state as the source reported it with the change
   * (a fresh device's first copy), until indexed or voided by a later change:
   * indexing then needs no storage read.
   */
  #arrived = new Map<string, Uint8Array>();
  /** The current burst of such arrivals (ms timestamps), until it settles. */
  #arrivalBurst: { first: number; last: number } | null = null;
  /** `whenIndexed` callers waiting: indexing then waits for nothing. */
  #awaited = 0;
  #indexTimer: Timer | null = null;
  #indexing: Promise<void> | null = null;
  #persistTimer: Timer | null = null;
  #persisted: { version: number; pending: string } | null;
  // Links between notes, fed with each body the search index reads.
  #links: LinkIndex;
  #linksPersisted: number | null;

  /**
   * Opens the workspace's index doc and starts syncing every note doc in the
   * background. Creates nothing: an empty workspace stays empty until `create`.
   */
  static async open(options: NoteStoreOptions): Promise<NoteStore> {
    const { workspaceId, source, now = Date.now } = options;
    assertIdSegment('workspaceId', workspaceId);
    // The two caches and the index doc are read at once: one after another they
    // were three storage round trips before the list could show (bench `coldload`).
    // Each cache, when unreadable, is rebuilt from the notes (links: notes whose
    // links are not known are re-read).
    const [persisted, links, handle] = await Promise.all([
      readCache(source, SEARCH_META_KEY, (bytes) => SearchIndex.decode(bytes, workspaceId)),
      readCache(source, LINKS_META_KEY, (bytes) => LinkIndex.decode(bytes, workspaceId)),
      source.open(workspaceId),
    ]);
    try {
      await handle.whenLoaded;
    } catch (error) {
      handle.release();
      throw error;
    }
    return new NoteStore(workspaceId, source, now, handle, persisted, links);
  }

  private constructor(
    workspaceId: string,
    source: DocSource,
    now: () => number,
    indexHandle: DocHandle,
    persisted: { index: SearchIndex; pending: string[] } | null,
    links: LinkIndex | null,
  ) {
    this.workspaceId = workspaceId;
    this.#source = source;
    this.#now = now;
    this.#indexHandle = indexHandle;
    this.indexDoc = indexHandle.doc;
    this.indexAwareness = indexHandle.awareness;
    this.#notes = this.indexDoc.getMap(NOTES_MAP);
    this.#prefix = `${workspaceId}/`;
    this.#search = persisted?.index ?? new SearchIndex();
    this.#persisted =
      persisted === null
        ? null
        : { version: this.#search.version, pending: persisted.pending.join() };
    this.#links = links ?? new LinkIndex();
    for (const id of this.#links.ids()) {
      if (!this.#notes.has(id)) this.#links.remove(id);
    }
    this.#linksPersisted = links === null ? null : this.#links.version;

    const pending = new Set(persisted?.pending);
    for (const id of this.#search.ids()) {
      if (!this.#notes.has(id)) this.#search.remove(id);
    }
    for (const [id, value] of this.#notes) {
      const entry = readEntry(value);
      if (!this.#track(id) || entry === undefined) continue;
      this.#search.setTitle(id, entry.title?.toString() ?? '');
      // Start-up re-reads only notes that changed since the index was persisted
      // (or whose change had not been indexed yet), never every note.
      const body = this.#search.body(id);
      const stale =
        body === undefined ||
        body.updatedAt !== entry.updatedAt ||
        pending.has(id) ||
        // Links read from another version of the body (or never read: a new link index).
        this.#links.key(id) !== body.key;
      // A note still arriving when last read may have arrived since.
      if (stale || this.#arriving(id)) this.#markDirty(id);
    }
    this.#notes.observeDeep(this.#onIndexChange);
    this.#unsubscribeSource = source.onDocChanged(this.#onDocChanged);
  }

  /**
   * Notes sorted by `updatedAt`, newest first; the trash with `{ trashed: true }`.
   * The array is frozen and stays the same object until something changes.
   */
  list(options: { trashed?: boolean } = {}): NoteSummary[] {
    const sorted = this.#sortedLists();
    return options.trashed === true ? sorted.trashed : sorted.active;
  }

  /** One note's summary (trashed or not). */
  get(id: string): NoteSummary | undefined {
    return this.#summary(id);
  }

  /**
   * Creates a note and returns its id. The body goes into the note doc before
   * the index entry announces the note. Import passes the note's `id` (refused
   * when this workspace ever held it, purged included) and its timestamps.
   */
  async create(init: NoteInit = {}): Promise<string> {
    this.#assertOpen();
    const title = init.title ?? '';
    const body = init.body ?? '';
    if (typeof title !== 'string') throw new TypeError('NoteStore.create: title must be a string');
    if (typeof body !== 'string') throw new TypeError('NoteStore.create: body must be a string');
    const given = checkNoteInit(init);
    const id = init.id ?? newId();
    const assertFree = () => {
      if (init.id !== undefined && everHeld(this.#notes, id)) {
        throw new Error(`NoteStore.create: workspace ${this.workspaceId} already used id ${id}`);
      }
    };
    assertFree();
    // What the entry depends on: the body, so no replica shows the note without it.
    let deps: StateMap = new Map();
    if (body.length > 0) {
      const handle = await this.#source.open(noteDocName(this.workspaceId, id));
      try {
        await handle.whenLoaded;
        handle.doc.getText(BODY_TEXT).insert(0, body);
        deps = stateMapOf(handle.doc);
      } finally {
        handle.release();
      }
      this.#assertOpen();
      assertFree();
    }
    const createdAt = given.createdAt ?? this.#now();
    const at = given.updatedAt ?? createdAt;
    this.indexDoc.transact(() => {
      const entry = new Y.Map<unknown>();
      this.#notes.set(id, entry);
      entry.set(EntryKey.title, new Y.Text(title));
      entry.set(EntryKey.createdAt, createdAt);
      entry.set(EntryKey.updatedAt, at);
      entry.set(EntryKey.trashedAt, given.trashedAt ?? null);
      entry.set(EntryKey.deps, encodeDeps(deps));
    }, this);
    // Shows the snippet at once; the version is unknown ('') until the queued re-read.
    if (body.length > 0) {
      const stateVector = encodeDeps(deps);
      this.#search.setBody(id, { text: body, key: '', updatedAt: at, stateVector });
      this.#links.update(id, '', body);
      this.#summaries.delete(id);
    }
    return id;
  }

  /** Sets a note's title with a minimal text edit, so that a concurrent rename merges into it. */
  rename(id: string, title: string): void {
    if (typeof title !== 'string') throw new TypeError('NoteStore.rename: title must be a string');
    const { map, fields, title: text } = this.#requireEntry(id, 'rename');
    if (text === null) throw new Error(`NoteStore.rename: note ${id} has no title text`);
    const diff = simpleDiffString(text.toString(), title);
    if (diff.remove === 0 && diff.insert.length === 0) return;
    this.#pendingTouch.delete(id);
    // The new title goes with the body as seen here (never less than before).
    const known = this.#knownVector(id);
    const deps = known === null ? null : mergeDeps(fields.deps ?? new Map(), known);
    this.indexDoc.transact(() => {
      if (diff.remove > 0) text.delete(diff.index, diff.remove);
      if (diff.insert.length > 0) text.insert(diff.index, diff.insert);
      map.set(EntryKey.updatedAt, this.#now());
      if (deps !== null && !(fields.deps !== null && covers(fields.deps, deps))) {
        map.set(EntryKey.deps, encodeDeps(deps));
      }
    }, this);
  }

  /** Opens a note's doc (shared by every handle of that note). */
  async openNote(id: string): Promise<NoteHandle> {
    const title = this.#titleText(id, 'openNote');
    return this.#handleOf(id, title, await this.#acquire(id));
  }

  /**
   * Another handle of a note some handle already holds open, without waiting:
   * its doc is the live one, which every later change reaches (relay, other
   * tabs, local edits) — not a copy that could be older than what this
   * session has read. `null` when no handle holds the note (use `openNote`).
   */
  openNoteIfOpen(id: string): NoteHandle | null {
    const title = this.#titleText(id, 'openNoteIfOpen');
    const note = this.#open.get(id);
    if (note === undefined) return null;
    note.refs++;
    return this.#handleOf(id, title, note);
  }

  #titleText(id: string, method: string): Y.Text {
    const { title } = this.#requireEntry(id, method);
    if (title === null) throw new Error(`NoteStore.${method}: note ${id} has no title text`);
    return title;
  }

  #handleOf(id: string, title: Y.Text, note: OpenNote): NoteHandle {
    const doc = note.handle.doc;
    let released = false;
    const arriving = () => this.#arriving(id);
    return {
      id,
      docName: note.handle.docName,
      doc,
      body: doc.getText(BODY_TEXT),
      title,
      awareness: note.handle.awareness,
      get arriving() {
        return arriving();
      },
      whenArrived: () => this.#whenArrived(id, note),
      release: () => {
        if (released) return;
        released = true;
        this.#releaseNote(id, note);
      },
    };
  }

  /** Applies `change` to a note's body in one transaction. */
  async edit(id: string, change: (body: Y.Text) => void): Promise<void> {
    if (typeof change !== 'function') {
      throw new TypeError('NoteStore.edit: change must be a function');
    }
    const handle = await this.openNote(id);
    try {
      handle.doc.transact(() => change(handle.body));
    } finally {
      handle.release();
    }
  }

  /**
   * Moves a note to the trash (no-op when already there). Its doc keeps
   * syncing, so edits made concurrently elsewhere survive.
   */
  trash(id: string): void {
    const { map, fields } = this.#requireEntry(id, 'trash');
    if (fields.trashedAt !== null) return;
    this.indexDoc.transact(() => map.set(EntryKey.trashedAt, this.#now()), this);
  }

  /** Takes a note out of the trash (no-op when not trashed). */
  restore(id: string): void {
    const { map, fields } = this.#requireEntry(id, 'restore');
    if (fields.trashedAt === null) return;
    this.indexDoc.transact(() => map.set(EntryKey.trashedAt, null), this);
  }

  /** Deletes a note for good: its index entry, its stored doc on this replica, its search entry. */
  async purge(id: string): Promise<void> {
    this.#requireEntry(id, 'purge');
    this.indexDoc.transact(() => this.#notes.delete(id), this);
    await this.#forgetting.get(id);
  }

  /**
   * The notes (not trashed) whose bodies link to note `id`, most recently
   * changed first. Known without loading their docs: from the link index.
   */
  backlinks(id: string): Backlink[] {
    if (typeof id !== 'string') throw new TypeError('NoteStore.backlinks: id must be a string');
    const found: Array<Backlink & { summary: NoteSummary }> = [];
    for (const link of this.#links.backlinks(id)) {
      const summary = this.#summary(link.sourceId);
      if (summary === undefined || summary.trashedAt !== null || link.sourceId === id) continue;
      const { title } = summary;
      found.push({ id: link.sourceId, title, snippet: link.context, count: link.count, summary });
    }
    found.sort((a, b) => byRecency(a.summary, b.summary));
    return found.map(({ summary: _, ...backlink }) => backlink);
  }

  /** Notes matching every word of `query` (the last one as a prefix), best first. */
  search(query: string, options: { trashed?: boolean; limit?: number } = {}): SearchHit[] {
    if (typeof query !== 'string') throw new TypeError('NoteStore.search: query must be a string');
    const trashed = options.trashed === true;
    const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`NoteStore.search: limit must be a non-negative integer, got ${limit}`);
    }
    const terms = tokenize(query);
    const ranked: { summary: NoteSummary; score: number }[] = [];
    for (const { id, score } of this.#search.search(query)) {
      const summary = this.#summary(id);
      if (summary === undefined || (summary.trashedAt !== null) !== trashed) continue;
      ranked.push({ summary, score });
    }
    ranked.sort((a, b) => b.score - a.score || byRecency(a.summary, b.summary));
    // Snippets only for the hits returned: one per match was most of a keystroke's
    // time with 5,000 notes (a one-letter prefix matches nearly all of them).
    return ranked.slice(0, limit).map(({ summary, score }) => {
      const text = this.#openBodyText(summary.id) ?? this.#search.body(summary.id)?.text ?? '';
      return { ...summary, snippet: snippetAround(text, terms), score };
    });
  }

  /**
   * Makes the search index ready for about `budgetMs` (bodies read since the
   * last search are tokenized lazily); returns whether work is left. Call it
   * from idle time so the first search after start-up is as fast as the rest.
   */
  prepareSearch(budgetMs?: number): boolean {
    return this.#search.prepare(budgetMs);
  }

  /**
   * Calls `listener` (batched, asynchronously) whenever the list, a title, a
   * snippet or search results may have changed. Returns the unsubscribe function.
   */
  subscribe(listener: () => void): () => void {
    const entry = () => listener();
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Resolves once every change known so far is in the search index. */
  async whenIndexed(): Promise<void> {
    this.#awaited++;
    try {
      while (!this.#closed && (this.#dirty.size > 0 || this.#indexing !== null)) {
        await this.#startIndexing();
      }
    } finally {
      this.#awaited--;
    }
  }

  /** Writes pending (throttled) `updatedAt` values to the index doc now. */
  flush(): void {
    for (const id of [...this.#pendingTouch.keys()]) this.#writeTouch(id);
  }

  /**
   * Writes pending timestamps and the search index, stops syncing the notes and
   * releases every doc. Handles still held become detached.
   */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    for (const timer of this.#touchCooldown.values()) clearTimeout(timer);
    this.#touchCooldown.clear();
    if (this.#indexTimer !== null) clearTimeout(this.#indexTimer);
    this.#persist();
    this.#notes.unobserveDeep(this.#onIndexChange);
    this.#unsubscribeSource();
    this.#arrived.clear();
    for (const [id, note] of this.#open) {
      note.handle.doc.off('afterTransaction', note.onTransaction);
      this.#endArrivals(note, 'the store was closed');
      note.handle.release();
      this.#open.delete(id);
    }
    for (const id of this.#tracked) this.#source.untrack(noteDocName(this.workspaceId, id));
    this.#tracked.clear();
    this.#indexHandle.release();
    this.#listeners.clear();
  }

  // ---- index doc ----

  #onIndexChange = (events: Y.YEvent<Y.AbstractType<unknown>>[], tr: Y.Transaction): void => {
    const changed = new Set<string>();
    for (const event of events) {
      if (event.target === this.#notes) {
        for (const [id, change] of event.changes.keys) {
          changed.add(id);
          if (change.action === 'delete') this.#removed(id);
          else if (change.action === 'add' && this.#track(id)) this.#markDirty(id);
        }
        continue;
      }
      const id = event.path[0];
      if (typeof id !== 'string') continue;
      changed.add(id);
      // A title typed into `NoteHandle.title` is a local edit like a body edit.
      if (event.target instanceof Y.Text && tr.local && tr.origin !== this) this.#touch(id);
    }
    for (const id of changed) {
      this.#summaries.delete(id);
      const entry = readEntry(this.#notes.get(id));
      if (entry !== undefined && this.#search.setTitle(id, entry.title?.toString() ?? '')) {
        this.#schedulePersist();
      }
      this.#checkArrivals(id);
    }
    this.#changed();
  };

  #requireEntry(id: string, operation: string) {
    this.#assertOpen();
    if (typeof id !== 'string') throw new TypeError(`NoteStore.${operation}: id must be a string`);
    const map = this.#notes.get(id);
    const fields = readEntry(map);
    if (!(map instanceof Y.Map) || fields === undefined) {
      throw new Error(
        `NoteStore.${operation}: no note ${JSON.stringify(id)} in workspace ${this.workspaceId}`,
      );
    }
    return { map, fields, title: fields.title };
  }

  /** Starts background sync of a note's doc; false for a key that cannot name a doc. */
  #track(id: string): boolean {
    if (this.#tracked.has(id)) return true;
    try {
      this.#source.track(noteDocName(this.workspaceId, id));
    } catch {
      return false;
    }
    this.#tracked.add(id);
    return true;
  }

  /** An entry left the index (purged here or elsewhere): drop all this replica holds of it. */
  #removed(id: string): void {
    this.#pendingTouch.delete(id);
    const cooldown = this.#touchCooldown.get(id);
    if (cooldown !== undefined) clearTimeout(cooldown);
    this.#touchCooldown.delete(id);
    this.#dirty.delete(id);
    this.#failed.delete(id);
    this.#arrived.delete(id);
    this.#summaries.delete(id);
    if (this.#search.remove(id)) this.#schedulePersist();
    if (this.#links.remove(id)) this.#schedulePersist();
    const note = this.#open.get(id);
    if (note !== undefined) {
      note.handle.doc.off('afterTransaction', note.onTransaction);
      this.#endArrivals(note, 'the note was purged');
      note.handle.release();
      this.#open.delete(id);
    }
    if (!this.#tracked.delete(id)) return;
    const forgetting = this.#source.forget(noteDocName(this.workspaceId, id));
    this.#forgetting.set(id, forgetting);
    forgetting
      .finally(() => {
        if (this.#forgetting.get(id) === forgetting) this.#forgetting.delete(id);
      })
      .catch(() => {
        // Reported to `purge`'s caller through the same promise; a remote purge has no caller.
      });
  }

  // ---- open notes and local edits ----

  async #acquire(id: string): Promise<OpenNote> {
    const open = this.#open.get(id);
    if (open !== undefined) {
      open.refs++;
      return open;
    }
    let opening = this.#opening.get(id);
    if (opening === undefined) {
      opening = this.#load(id).finally(() => this.#opening.delete(id));
      this.#opening.set(id, opening);
    }
    const note = await opening;
    note.refs++;
    return note;
  }

  async #load(id: string): Promise<OpenNote> {
    const handle = await this.#source.open(noteDocName(this.workspaceId, id));
    try {
      await handle.whenLoaded;
      if (this.#closed) throw new Error('NoteStore: closed while opening a note');
      if (!this.#notes.has(id)) throw new Error(`NoteStore.openNote: note ${id} was purged`);
    } catch (error) {
      handle.release();
      throw error;
    }
    const note: OpenNote = {
      handle,
      refs: 0,
      snippet: null,
      // Not Yjs's `update` event: nothing here needs its bytes, and Yjs
      // encodes them for every listener (a whole note as it arrives).
      onTransaction: (tr) => {
        if (!transactionChanged(tr)) return;
        note.snippet = null;
        this.#summaries.delete(id);
        this.#markDirty(id);
        if (tr.local) this.#touch(id);
        this.#checkArrivals(id);
        this.#changed();
      },
      arrivals: new Set(),
    };
    handle.doc.on('afterTransaction', note.onTransaction);
    this.#open.set(id, note);
    return note;
  }

  #releaseNote(id: string, note: OpenNote): void {
    note.refs--;
    if (note.refs > 0 || this.#open.get(id) !== note) return;
    note.handle.doc.off('afterTransaction', note.onTransaction);
    // The live doc holds everything known of the note: index it now, while it
    // is in memory, so the list's snippet stays fresh without a re-read.
    if (this.#dirty.has(id) && !this.#closed) {
      if (this.#indexFromDoc(id, note.handle.doc)) this.#changed();
      this.#dirty.delete(id);
      this.#arrived.delete(id);
    }
    this.#summaries.delete(id);
    this.#endArrivals(note, 'the note was released');
    note.handle.release();
    this.#open.delete(id);
  }

  // ---- arriving (causal consistency across docs) ----

  /** How much of a note's doc this replica holds: the live doc, else as last read. */
  #knownVector(id: string): StateMap | null {
    const open = this.#open.get(id);
    if (open !== undefined) return stateMapOf(open.handle.doc);
    return decodeDeps(this.#search.body(id)?.stateVector);
  }

  /** The entry depends on note doc state this replica does not (knowingly) hold yet. */
  #arriving(id: string): boolean {
    const deps = readEntry(this.#notes.get(id))?.deps;
    if (deps === null || deps === undefined || deps.size === 0) return false;
    return !covers(this.#knownVector(id) ?? new Map(), deps);
  }

  #whenArrived(id: string, note: OpenNote): Promise<void> {
    if (this.#open.get(id) !== note) {
      return Promise.reject(new Error(`NoteStore.whenArrived: note ${id} is no longer open`));
    }
    if (!this.#arriving(id)) return Promise.resolve();
    return new Promise((resolve, reject) => note.arrivals.add({ resolve, reject }));
  }

  #checkArrivals(id: string): void {
    const note = this.#open.get(id);
    if (note === undefined || note.arrivals.size === 0 || this.#arriving(id)) return;
    const waiters = [...note.arrivals];
    note.arrivals.clear();
    for (const waiter of waiters) waiter.resolve();
  }

  #endArrivals(note: OpenNote, why: string): void {
    const waiters = [...note.arrivals];
    note.arrivals.clear();
    for (const waiter of waiters) waiter.reject(new Error(`NoteStore.whenArrived: ${why}`));
  }

  #openBodyText(id: string): string | undefined {
    return this.#open.get(id)?.handle.doc.getText(BODY_TEXT).toString();
  }

  /** Records a local edit: the list shows it at once, the index doc gets it throttled. */
  #touch(id: string): void {
    if (this.#closed || !this.#notes.has(id)) return;
    this.#pendingTouch.set(id, this.#now());
    this.#summaries.delete(id);
    this.#changed();
    if (this.#touchCooldown.has(id)) return;
    this.#touchCooldown.set(
      id,
      setTimeout(() => this.#touchCooldownEnded(id), TOUCH_INTERVAL_MS),
    );
    // Deferred because this may run inside an index doc observer.
    queueMicrotask(() => this.#writeTouch(id));
  }

  #touchCooldownEnded(id: string): void {
    this.#touchCooldown.delete(id);
    if (!this.#pendingTouch.has(id)) return;
    this.#writeTouch(id);
    this.#touchCooldown.set(
      id,
      setTimeout(() => this.#touchCooldownEnded(id), TOUCH_INTERVAL_MS),
    );
  }

  #writeTouch(id: string): void {
    const at = this.#pendingTouch.get(id);
    if (at === undefined || this.#closed) return;
    this.#pendingTouch.delete(id);
    const map = this.#notes.get(id);
    if (!(map instanceof Y.Map)) return;
    this.indexDoc.transact(() => map.set(EntryKey.updatedAt, at), this);
  }

  // ---- list ----

  #summary(id: string): NoteSummary | undefined {
    const cached = this.#summaries.get(id);
    if (cached !== undefined) return cached;
    const entry = readEntry(this.#notes.get(id));
    if (entry === undefined) return undefined;
    const summary: NoteSummary = Object.freeze({
      id,
      title: entry.title?.toString() ?? '',
      snippet: this.#snippet(id),
      createdAt: entry.createdAt,
      updatedAt: this.#pendingTouch.get(id) ?? entry.updatedAt,
      trashedAt: entry.trashedAt,
      arriving: this.#arriving(id),
    });
    this.#summaries.set(id, summary);
    return summary;
  }

  #snippet(id: string): string {
    const open = this.#open.get(id);
    if (open === undefined) return snippet(this.#search.body(id)?.text ?? '');
    open.snippet ??= snippet(open.handle.doc.getText(BODY_TEXT).toString());
    return open.snippet;
  }

  #sortedLists(): { active: NoteSummary[]; trashed: NoteSummary[] } {
    if (this.#sorted !== null) return this.#sorted;
    const active: NoteSummary[] = [];
    const trashed: NoteSummary[] = [];
    for (const id of this.#notes.keys()) {
      const summary = this.#summary(id);
      if (summary === undefined) continue;
      (summary.trashedAt === null ? active : trashed).push(summary);
    }
    this.#sorted = {
      active: Object.freeze(active.sort(byRecency)) as NoteSummary[],
      trashed: Object.freeze(trashed.sort(byRecency)) as NoteSummary[],
    };
    return this.#sorted;
  }

  #changed(): void {
    this.#sorted = null;
    if (this.#notifyQueued || this.#closed) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      if (this.#closed) return;
      for (const listener of [...this.#listeners]) listener();
    });
  }

  // ---- search index ----

  #onDocChanged = (docName: string, stored?: Uint8Array): void => {
    if (this.#closed || !docName.startsWith(this.#prefix)) return;
    const id = docName.slice(this.#prefix.length);
    // A note doc that arrives before its index entry is indexed once the entry arrives.
    if (!this.#notes.has(id)) return;
    // Reading each note back was ~15 % of a fresh device's page time (bench `coldload`).
    if (stored === undefined) this.#arrived.delete(id);
    else {
      this.#arrived.set(id, stored);
      const at = Date.now();
      if (this.#arrivalBurst === null) this.#arrivalBurst = { first: at, last: at };
      else this.#arrivalBurst.last = at;
    }
    this.#markDirty(id);
  };

  #markDirty(id: string): void {
    this.#dirty.set(id, ++this.#dirtyGeneration);
    if (this.#indexTimer !== null || this.#closed) return;
    this.#indexAfter(INDEX_DEBOUNCE_MS);
  }

  #indexAfter(ms: number): void {
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = null;
      const wait = this.#arrivalWait();
      if (wait > 0) {
        this.#indexAfter(wait);
        return;
      }
      this.#startIndexing().catch(() => {
        // #index handles per-note failures itself; nothing else can reject.
      });
    }, ms);
  }

  /**
   * How long indexing should still wait for a burst of notes arriving with
   * their stored state (a fresh device's first sync) to settle: indexing in
   * the middle of it delayed storing and acking the rest (bench `coldload`).
   * Never more than `ARRIVAL_MAX_DEFER_MS` after the burst began, never while
   * someone awaits `whenIndexed`.
   */
  #arrivalWait(): number {
    const burst = this.#arrivalBurst;
    if (burst === null || this.#awaited > 0) return 0;
    const now = Date.now();
    const quiet = burst.last + ARRIVAL_QUIET_MS - now;
    if (quiet <= 0) {
      this.#arrivalBurst = null;
      return 0;
    }
    return Math.max(0, Math.min(quiet, burst.first + ARRIVAL_MAX_DEFER_MS - now));
  }

  #startIndexing(): Promise<void> {
    if (this.#indexTimer !== null) {
      clearTimeout(this.#indexTimer);
      this.#indexTimer = null;
    }
    this.#indexing ??= this.#index().finally(() => {
      this.#indexing = null;
      this.#schedulePersist();
    });
    return this.#indexing;
  }

  async #index(): Promise<void> {
    let sliceStart = Date.now();
    // The list is told once per slice, not once per note: each telling re-sorted
    // it and moved the list snapshot's marker (quadratic on a fresh device).
    let untold = false;
    for (let next = this.#dirty.entries().next(); !next.done; next = this.#dirty.entries().next()) {
      if (this.#closed) return;
      // Bodies handed over with their change need no read, so nothing else
      // would yield: on a fresh device the page's sync (answers, storage, acks)
      // goes first, indexing takes the gaps (bench `coldload`).
      if (Date.now() - sliceStart >= INDEX_SLICE_MS) {
        if (untold) this.#changed();
        untold = false;
        await yieldTurn();
        sliceStart = Date.now();
        if (this.#closed) return;
        const wait = this.#arrivalWait();
        if (wait > 0) {
          if (this.#indexTimer === null) this.#indexAfter(wait);
          return;
        }
        continue;
      }
      const [id, generation] = next.value;
      let indexed = false;
      try {
        indexed = this.#indexHeld(id) ?? (await this.#indexStored(id));
        this.#failed.delete(id);
      } catch {
        // Unreadable right now (storage error, corrupt update): keep the old
        // entry and retry on the next change or start-up.
        this.#failed.add(id);
      }
      if (this.#closed) return;
      if (this.#dirty.get(id) === generation) this.#dirty.delete(id);
      if (indexed) {
        this.#summaries.delete(id);
        untold = true;
      }
    }
    if (untold) this.#changed();
  }

  /**
   * Indexes one note's body from memory — its live doc if open, else the
   * stored state handed over with its change; `null` when it must be read.
   */
  #indexHeld(id: string): boolean | null {
    const arrived = this.#arrived.get(id);
    this.#arrived.delete(id);
    const open = this.#open.get(id);
    if (open !== undefined) return this.#indexFromDoc(id, open.handle.doc);
    return arrived === undefined ? null : this.#indexFromUpdate(id, arrived);
  }

  async #indexStored(id: string): Promise<boolean> {
    const stored = await this.#source.readStored(noteDocName(this.workspaceId, id));
    // The entry arrived before the body (a fresh device): reading nothing into a
    // throwaway doc cost ~60 µs a note in the middle of the load (bench
    // `coldload`), and the body's arrival marks the note for indexing again.
    if (isEmptyUpdate(stored) && this.#arriving(id)) return false;
    return this.#indexFromUpdate(id, stored);
  }

  #indexFromUpdate(id: string, stored: Uint8Array): boolean {
    // A throwaway doc for this one note, dropped right after reading its text.
    // A fixed guid: Yjs would draw a random UUID per doc, one
    // `crypto.getRandomValues` call per character, ~25 µs a note (bench `coldload`).
    const doc = new Y.Doc({ guid: SCRATCH_DOC_GUID });
    try {
      Y.applyUpdate(doc, stored);
      return this.#indexFromDoc(id, doc);
    } finally {
      doc.destroy();
    }
  }

  /** Indexes a note's body from `doc`; returns whether its text or its arriving state changed. */
  #indexFromDoc(id: string, doc: Y.Doc): boolean {
    const entry = readEntry(this.#notes.get(id));
    if (this.#closed || entry === undefined) return false;
    const text = doc.getText(BODY_TEXT).toString();
    const stateVector = Y.encodeStateVector(doc);
    // Any insertion advances the state vector and a deletion alone shortens the
    // text, so an unchanged key means unchanged text.
    const key = `${toBase64(stateVector)}:${text.length}`;
    const updatedAt = this.#pendingTouch.get(id) ?? entry.updatedAt;
    const wasArriving = this.#arriving(id);
    // What the list shows: a note never read and one read empty look the same.
    // (A fresh device reads its 1,000 not yet arrived notes as empty; telling
    // the list each time re-sorted and re-rendered it while the relay's
    // answers were due: bench `coldload`.)
    const textBefore = this.#search.body(id)?.text ?? '';
    this.#search.setBody(id, { text, key, updatedAt, stateVector });
    const linksChanged = this.#links.update(id, key, text);
    this.#schedulePersist();
    return textBefore !== text || linksChanged || wasArriving !== this.#arriving(id);
  }

  #schedulePersist(ms = PERSIST_DEBOUNCE_MS): void {
    if (this.#persistTimer !== null || this.#closed) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = null;
      // Like indexing, it waits for a burst of arriving notes to settle: it
      // cost ~12 ms in the middle of a fresh device's load (bench `coldload`).
      const wait = this.#arrivalWait();
      if (wait > 0) this.#schedulePersist(wait);
      else this.#persist();
    }, ms);
  }

  #persist(): void {
    if (this.#persistTimer !== null) {
      clearTimeout(this.#persistTimer);
      this.#persistTimer = null;
    }
    this.#persistLinks();
    const pending = [...new Set([...this.#dirty.keys(), ...this.#failed])];
    const state = { version: this.#search.version, pending: pending.join() };
    const last = this.#persisted;
    if (last !== null && last.version === state.version && last.pending === state.pending) return;
    if (last === null && this.#search.ids().length === 0 && pending.length === 0) return;
    this.#persisted = state;
    this.#source
      .setMeta(SEARCH_META_KEY, this.#search.encode(this.workspaceId, pending))
      .catch(() => {
        // Not persisted: the next start re-reads what it cannot trust.
        if (this.#persisted === state) this.#persisted = null;
      });
  }

  #persistLinks(): void {
    const version = this.#links.version;
    if (version === this.#linksPersisted) return;
    if (this.#linksPersisted === null && this.#links.ids().length === 0) return;
    this.#linksPersisted = version;
    this.#source.setMeta(LINKS_META_KEY, this.#links.encode(this.workspaceId)).catch(() => {
      // Not persisted: the next start re-reads notes whose links it cannot trust.
      if (this.#linksPersisted === version) this.#linksPersisted = null;
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`NoteStore: workspace ${this.workspaceId} is closed`);
  }
}

/** A cache kept in the source's meta area, decoded; null when absent or unreadable. */
async function readCache<T>(
  source: DocSource,
  key: string,
  decode: (bytes: Uint8Array) => T,
): Promise<T | null> {
  try {
    const bytes = await source.getMeta(key);
    return bytes === undefined ? null : decode(bytes);
  } catch {
    return null;
  }
}
