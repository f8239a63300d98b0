import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import { isValidDocName } from '../protocol.ts';
import type { SessionWarning } from '../replicationInfo.ts';
import { type SessionGuarantee, stateOfDoc, violations } from './coverage.ts';
import {
  capWriteGroups,
  type DeleteSet,
  decodeRecord,
  decodeSessionToken,
  emptyRecord,
  encodeRecord,
  encodeSessionToken,
  isEmptyRecord,
  maxStateMap,
  mergeRecordInto,
  mergeSnapshots,
  newWriteGroup,
  requiredStateMap,
  type SessionRecord,
  type WriteGroup,
  type WriteRange,
} from './sessionRecord.ts';

/** Meta key prefix of a doc's persisted session record (`session:<docName>`). */
export const SESSION_META_PREFIX = 'session:';

/** What people are told, per guarantee a shown copy would break. */
export const SESSION_WARNING_MESSAGES: Readonly<Record<SessionGuarantee, string>> = {
  'read-your-writes':
    'Changes you made are not in this copy yet; it is still arriving from the relay or another device.',
  'monotonic-reads':
    'This copy is older than one you have already seen; the newer state is still arriving.',
  'writes-follow-reads':
    'This copy has your edit but not what you were looking at when you made it; the rest is still arriving.',
  'monotonic-writes':
    'This copy has a later edit of yours but not an earlier one; the rest is still arriving.',
};

export interface SessionGuaranteesOptions {
  /** Where records live (the workspace's meta area, shared by the tabs of a browser). */
  storage: Pick<StorageAdapter, 'getMeta' | 'setMeta'>;
  /**
   * Runs `op` after every storage op already queued for `docName`. A record
   * names state, so it must never be stored before that state is.
   */
  schedule(docName: string, op: () => Promise<void>): void;
  /** Called when `warnings()` changed. */
  onChange(): void;
  onError(error: Error): void;
  /** Quiet time before a changed record is written; default 1000 ms. */
  persistDelayMs?: number;
}

/** A live doc as the session presents it (one per `attach`). */
export interface PresentedDoc {
  /** False until `ready()`, and while the doc is behind the session's record. */
  readonly current: boolean;
  readonly warnings: readonly SessionWarning[];
  onCurrentChange(listener: (current: boolean) => void): () => void;
  /** Loads the doc's record and checks the doc against it; call once the doc holds its stored state. */
  ready(): Promise<void>;
  /** Records what was shown and stops watching (before the doc is destroyed). */
  dispose(): void;
}

interface Presented {
  doc: Y.Doc;
  ready: boolean;
  disposed: boolean;
  current: boolean;
  warnings: SessionWarning[];
  listeners: Set<(current: boolean) => void>;
  /** Shown state that the record's `read` does not include yet (folded in lazily: it costs a pass over the doc). */
  readStale: boolean;
  /** The group this live doc's writes go to. */
  group: WriteGroup | null;
  /** `DocState.version` right after this doc's last recorded write (see `#recordWrite`). */
  seenVersion: number;
  onTransaction: (tr: Y.Transaction) => void;
}

interface DocState {
  readonly name: string;
  record: SessionRecord;
  /** Bumped whenever `record` changes. */
  version: number;
  loading: Promise<void> | null;
  presented: Set<Presented>;
  persistTimer: ReturnType<typeof setTimeout> | null;
  forgotten: boolean;
}

/**
 * Session guarantees (Terry et al. 1994) for the docs of one workspace: keeps,
 * per doc, what this session (every tab of this browser profile, and devices
 * that imported its token) has read and written, and checks each live doc it
 * presents against that record. A doc that is behind is reported as not
 * current, with a warning per guarantee it would break, until the missing
 * state arrives. See docs/ARCHITECTURE.md, "Session guarantees".
 */
export class SessionGuarantees {
  #storage: SessionGuaranteesOptions['storage'];
  #schedule: SessionGuaranteesOptions['schedule'];
  #onChange: () => void;
  #onError: (error: Error) => void;
  #persistDelayMs: number;
  #docs = new Map<string, DocState>();
  #version = 0;

  constructor(options: SessionGuaranteesOptions) {
    this.#storage = options.storage;
    this.#schedule = options.schedule;
    this.#onChange = options.onChange;
    this.#onError = options.onError;
    this.#persistDelayMs = options.persistDelayMs ?? 1000;
  }

  /** Increases whenever `warnings()` changes. */
  get version(): number {
    return this.#version;
  }

  /** Every presented doc that is behind, one warning per broken guarantee. */
  warnings(): SessionWarning[] {
    const out: SessionWarning[] = [];
    for (const state of this.#docs.values()) {
      for (const p of state.presented) if (p.ready && !p.disposed) out.push(...p.warnings);
    }
    return out;
  }

  /** Starts presenting `doc` as `docName`; it counts as current only after `ready()`. */
  attach(docName: string, doc: Y.Doc): PresentedDoc {
    const state = this.#state(docName);
    const p: Presented = {
      doc,
      ready: false,
      disposed: false,
      current: false,
      warnings: [],
      listeners: new Set(),
      readStale: false,
      group: null,
      seenVersion: -1,
      onTransaction: (tr) => this.#onTransaction(state, p, tr),
    };
    state.presented.add(p);
    doc.on('afterTransaction', p.onTransaction);
    return {
      get current() {
        return p.ready && p.current;
      },
      get warnings() {
        return p.warnings;
      },
      onCurrentChange: (listener) => {
        p.listeners.add(listener);
        return () => p.listeners.delete(listener);
      },
      ready: async () => {
        await this.#load(state);
        if (p.disposed || p.ready) return;
        p.ready = true;
        this.#evaluate(state, p);
      },
      dispose: () => this.#dispose(state, p),
    };
  }

  /**
   * A token carrying this session's records of `docNames` (empty records are
   * left out), for `importToken` on a device that has never seen them.
   */
  async exportToken(docNames: readonly string[]): Promise<string> {
    const records = new Map<string, SessionRecord>();
    for (const name of docNames) checkDocName(name);
    for (const name of docNames) {
      const state = this.#state(name);
      await this.#load(state);
      for (const p of state.presented) this.#refreshRead(state, p);
      if (!isEmptyRecord(state.record)) records.set(name, state.record);
    }
    return encodeSessionToken(records);
  }

  /**
   * Adds the records of a token to this session's. Throws a
   * `SessionRecordError` (changing nothing) for a malformed token.
   */
  importToken(token: string): void {
    const records = decodeSessionToken(token);
    for (const [name, record] of records) {
      const state = this.#state(name);
      mergeRecordInto(state.record, record);
      state.version++;
      for (const p of state.presented) if (p.ready) this.#evaluate(state, p);
      this.#persistNow(state, false);
    }
  }

  /**
   * Forgets what the session read and wrote of `docName`: whatever is shown
   * becomes current. The way out when the missing state is gone for good.
   */
  async reset(docName: string): Promise<void> {
    checkDocName(docName);
    const state = this.#state(docName);
    await this.#load(state);
    state.record = emptyRecord();
    state.version++;
    for (const p of state.presented) {
      p.group = null;
      if (p.ready) this.#evaluate(state, p);
    }
    this.#persistNow(state, true);
  }

  /** Drops the record of a doc removed from this replica (call in the doc's storage queue). */
  async forget(docName: string): Promise<void> {
    const state = this.#docs.get(docName);
    if (state !== undefined) {
      state.forgotten = true;
      if (state.persistTimer !== null) clearTimeout(state.persistTimer);
      for (const p of state.presented) this.#dispose(state, p);
      this.#docs.delete(docName);
    }
    await this.#storage.setMeta(SESSION_META_PREFIX + docName, undefined);
  }

  /** Queues every pending record write now (before shutting down). */
  flush(): void {
    for (const state of this.#docs.values()) {
      if (state.persistTimer !== null) this.#persistNow(state, false);
    }
  }

  // ---- per doc ----

  #state(docName: string): DocState {
    let state = this.#docs.get(docName);
    if (state === undefined) {
      state = {
        name: docName,
        record: emptyRecord(),
        version: 0,
        loading: null,
        presented: new Set(),
        persistTimer: null,
        forgotten: false,
      };
      this.#docs.set(docName, state);
    }
    return state;
  }

  #load(state: DocState): Promise<void> {
    state.loading ??= (async () => {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await this.#storage.getMeta(SESSION_META_PREFIX + state.name);
      } catch (err) {
        this.#onError(new Error(`session record of ${state.name} unreadable: ${message(err)}`));
        return;
      }
      if (bytes === undefined) return;
      try {
        mergeRecordInto(state.record, decodeRecord(bytes));
        state.version++;
      } catch (err) {
        // Only a cache of guarantees: checking against less is better than not showing the doc.
        this.#onError(new Error(`session record of ${state.name} ignored: ${message(err)}`));
      }
    })();
    return state.loading;
  }

  #onTransaction(state: DocState, p: Presented, tr: Y.Transaction): void {
    if (!p.ready || p.disposed) return;
    if (!tr.local) {
      // Remote, another tab's, or storage's: shown now if current, else maybe what was missing.
      if (p.current) this.#markRead(state, p);
      else this.#evaluate(state, p);
      return;
    }
    if (!this.#recordWrite(state, p, tr)) return;
    if (p.current) this.#markRead(state, p);
    else this.#evaluate(state, p);
  }

  /** Adds a local transaction's writes to the record; false when it wrote nothing. */
  #recordWrite(state: DocState, p: Presented, tr: Y.Transaction): boolean {
    const inserted: [number, number, number][] = [];
    for (const [client, after] of tr.afterState) {
      const before = tr.beforeState.get(client) ?? 0;
      if (after > before) inserted.push([client, before, after]);
    }
    let deleted = false;
    for (const items of tr.deleteSet.clients.values()) if (items.length > 0) deleted = true;
    if (inserted.length === 0 && !deleted) return false;

    const record = state.record;
    const last = p.group;
    if (
      last !== null &&
      p.seenVersion === state.version &&
      record.writes.includes(last) &&
      depsUnchanged(last, tr, inserted)
    ) {
      // The common case, a run of keystrokes: the group's deps already hold
      // all the slow path would add (see `depsUnchanged`), so only the
      // ranges and deletions grow. Computing the deps anew cost 6 % of the
      // client CPU in the seph-blog1 replay.
      for (const [client, from, to] of inserted) {
        const range = last.ranges.get(client) as WriteRange;
        last.ranges.set(client, { from: Math.min(range.from, from), to: Math.max(range.to, to) });
      }
      if (deleted) addDeletes(last.deleted, tr.deleteSet);
      p.seenVersion = ++state.version;
      this.#schedulePersist(state);
      return true;
    }
    // What the write was made against: the doc as it was, plus anything the
    // session requires that this copy lacks (when it is not current).
    const deps = maxStateMap(tr.beforeState, requiredStateMap(record));
    let group = last !== null && record.writes.includes(last) ? last : null;
    group ??= record.writes.find((g) => inserted.some(([client]) => g.ranges.has(client))) ?? null;
    if (group === null) {
      group = newWriteGroup();
      record.writes.push(group);
    }
    p.group = group;
    for (const [client, from, to] of inserted) {
      const range = group.ranges.get(client);
      group.ranges.set(client, {
        from: Math.min(range?.from ?? from, from),
        to: Math.max(range?.to ?? to, to),
      });
    }
    if (deleted) addDeletes(group.deleted, tr.deleteSet);
    group.deps = maxStateMap(group.deps, deps);
    for (const client of group.ranges.keys()) group.deps.delete(client);
    capWriteGroups(record);
    p.seenVersion = ++state.version;
    this.#schedulePersist(state);
    return true;
  }

  #markRead(state: DocState, p: Presented): void {
    p.readStale = true;
    this.#schedulePersist(state);
  }

  /** Checks the presented doc against the record; tells listeners when `current` flips. */
  #evaluate(state: DocState, p: Presented): void {
    const broken = violations(state.record, stateOfDoc(p.doc));
    const warnings = broken.map((guarantee) => ({
      docName: state.name,
      guarantee,
      message: SESSION_WARNING_MESSAGES[guarantee],
    }));
    const current = warnings.length === 0;
    const changed =
      warnings.map((w) => w.guarantee).join() !== p.warnings.map((w) => w.guarantee).join();
    p.warnings = warnings;
    if (changed) {
      this.#version++;
      this.#call(this.#onChange);
    }
    if (current) this.#markRead(state, p);
    if (current === p.current) return;
    p.current = current;
    for (const listener of [...p.listeners]) this.#call(() => listener(current));
  }

  #refreshRead(state: DocState, p: Presented): void {
    if (!p.readStale || !p.ready || !p.current || p.disposed) return;
    p.readStale = false;
    state.record.read = mergeSnapshots(state.record.read, Y.snapshot(p.doc));
    state.version++;
  }

  #dispose(state: DocState, p: Presented): void {
    if (p.disposed) return;
    this.#refreshRead(state, p);
    p.disposed = true;
    p.doc.off('afterTransaction', p.onTransaction);
    p.listeners.clear();
    state.presented.delete(p);
    if (p.ready && p.warnings.length > 0) {
      this.#version++;
      this.#call(this.#onChange);
    }
    if (state.persistTimer !== null) this.#persistNow(state, false);
  }

  #schedulePersist(state: DocState): void {
    if (state.persistTimer !== null || state.forgotten) return;
    state.persistTimer = setTimeout(() => {
      state.persistTimer = null;
      this.#persistNow(state, false);
    }, this.#persistDelayMs);
  }

  /**
   * Queues a write of the record as it is now. Every update it names is
   * already queued for storage (live docs append each update as it happens),
   * so the doc's queue stores the record after them. Without `replace`, it is
   * merged with the stored one, which other tabs may have extended.
   */
  #persistNow(state: DocState, replace: boolean): void {
    if (state.persistTimer !== null) {
      clearTimeout(state.persistTimer);
      state.persistTimer = null;
    }
    if (state.forgotten) return;
    for (const p of state.presented) this.#refreshRead(state, p);
    const bytes = encodeRecord(state.record);
    const key = SESSION_META_PREFIX + state.name;
    this.#schedule(state.name, async () => {
      if (state.forgotten) return;
      const record = decodeRecord(bytes);
      if (!replace) {
        const stored = await this.#storage.getMeta(key);
        if (stored !== undefined) {
          try {
            mergeRecordInto(record, decodeRecord(stored));
          } catch {
            // Unreadable: replaced by ours (reported when it was loaded).
          }
        }
      }
      await this.#storage.setMeta(key, encodeRecord(record));
      // Nothing shows the doc and all is stored: the next use reloads it from meta.
      const idle = state.presented.size === 0 && state.persistTimer === null;
      if (idle && this.#docs.get(state.name) === state) this.#docs.delete(state.name);
    });
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function checkDocName(docName: unknown): void {
  if (typeof docName !== 'string' || !isValidDocName(docName)) {
    throw new TypeError(`invalid doc name: ${JSON.stringify(docName)}`);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether recording `tr` in `group` leaves `group.deps` as it is. The slow
 * path sets deps to the max of the old deps, the doc's state before `tr`
 * and everything the record requires, less the group's own clients. Right
 * after it ran (and while the record changed only by this doc's writes to
 * the same group's own clients, which `DocState.version` tells), the old
 * deps already cover what the record requires; so only `tr.beforeState`
 * can add anything, and only for clients outside the group — a remote or
 * another tab's change seen since the last write. `inserted` must name
 * only the group's clients (a new client id takes the slow path).
 */
function depsUnchanged(
  group: WriteGroup,
  tr: Y.Transaction,
  inserted: ReadonlyArray<readonly [number, number, number]>,
): boolean {
  for (const [client] of inserted) if (!group.ranges.has(client)) return false;
  for (const [client, clock] of tr.beforeState) {
    if (!group.ranges.has(client) && clock > (group.deps.get(client) ?? 0)) return false;
  }
  return true;
}

/**
 * Adds the ranges of `add` to `into` in place, keeping `into` sorted and
 * merged as Yjs keeps delete sets. `Y.mergeDeleteSets` copies every range of
 * both sets: once per deleting keystroke, that made recording a long
 * session's deletions quadratic (issue 6: 17 % of the client CPU replaying
 * automerge-paper). Here: a binary search and a splice per range.
 */
export function addDeletes(into: DeleteSet, add: DeleteSet): void {
  for (const [client, items] of add.clients) {
    let list = into.clients.get(client);
    if (list === undefined) {
      list = [];
      into.clients.set(client, list);
    }
    for (const item of items) {
      if (item.len <= 0) continue;
      let start = item.clock;
      let end = item.clock + item.len;
      // The first range that ends at or after `start` (touching ranges merge too).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const r = list[mid] as (typeof list)[number];
        if (r.clock + r.len < start) lo = mid + 1;
        else hi = mid;
      }
      let j = lo;
      for (; j < list.length; j++) {
        const r = list[j] as (typeof list)[number];
        if (r.clock > end) break;
        start = Math.min(start, r.clock);
        end = Math.max(end, r.clock + r.len);
      }
      list.splice(lo, j - lo, { clock: start, len: end - start } as (typeof list)[number]);
    }
  }
}
