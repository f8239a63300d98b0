import type { StorageAdapter, StoredDoc } from '../ports.ts';
import { checkBytes, checkCursor, checkDocName, checkMetaKey, checkUpdates } from './checkArgs.ts';

const UPDATES = 'updates';
const META = 'meta';
/** Per-doc summaries (`StorageAdapter.putSummary`), keyed by doc name; added in version 2. */
const SUMMARIES = 'summaries';
/** Version 1 databases gain an empty summaries store: their docs read as "no summary". */
const DB_VERSION = 2;
/** Keys read per request by `list`. */
const LIST_PAGE_KEYS = 10_000;
/** A batch appending to this many docs or more finds their last keys with one range read… */
const RANGE_READ_MIN_DOCS = 4;
/** …of at most this many keys per doc in the batch (more: the docs past the limit take a cursor). */
const RANGE_READ_KEYS_PER_DOC = 8;
/** A batch appending to this many docs or more defers the summaries of the docs it starts… */
const DEFER_SUMMARIES_MIN_DOCS = 16;
/** …and writes them once appends have been quiet this long. */
const DEFER_SUMMARIES_QUIET_MS = 300;

/** Key of one stored update: the doc's name, then its position in that doc's log. */
type UpdateKey = [docName: string, seq: number];

/** A summary held back by `#writeBatch`: valid while the doc's log still ends at `cursor`. */
interface DeferredSummary {
  summary: Uint8Array;
  cursor: number;
}

/** One `append` call waiting for the next batch transaction. */
interface PendingAppend {
  docName: string;
  updates: Uint8Array[];
  summary: Uint8Array | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `StorageAdapter` over IndexedDB: one database per workspace (`lattice:<workspaceId>`)
 * holding every doc of it, instead of y-indexeddb's database per doc, and
 * reporting each append as stored only once its transaction committed.
 *
 * Updates live in one store keyed `[docName, seq]`, so a doc's log is one key
 * range, `list` skips from doc to doc, and a compaction snapshot takes the key
 * of the last update it replaces (ahead of later appends) without an index.
 */
export class IndexedDbStorage implements StorageAdapter {
  #db: IDBDatabase;
  #keyRange: typeof IDBKeyRange;
  #closed = false;
  /** Appends made while a batch transaction is in flight: they share the next one. */
  #pending: PendingAppend[] = [];
  #writing = false;
  /** Summaries of docs a large batch started, by doc name, until `#flushSummaries`. */
  #deferred = new Map<string, DeferredSummary>();
  #deferTimer: ReturnType<typeof setTimeout> | null = null;

  private constructor(db: IDBDatabase, keyRange: typeof IDBKeyRange) {
    this.#db = db;
    this.#keyRange = keyRange;
    // Another tab upgrading the schema must not be blocked by this one.
    db.onversionchange = () => {
      db.close();
      this.#closed = true;
    };
  }

  /**
   * Opens (creating if needed) database `dbName`, e.g. `lattice:<workspaceId>`.
   * `factory` and `keyRange` default to the browser's globals; Node tests pass
   * fake-indexeddb's.
   */
  static open(
    dbName: string,
    factory: IDBFactory | undefined = globalThis.indexedDB,
    keyRange: typeof IDBKeyRange | undefined = globalThis.IDBKeyRange,
  ): Promise<IndexedDbStorage> {
    if (typeof dbName !== 'string' || dbName.length === 0) {
      return Promise.reject(new TypeError('database name must be a non-empty string'));
    }
    if (!factory) return Promise.reject(new Error('IndexedDB is not available here'));
    if (!keyRange) {
      return Promise.reject(
        new Error(
          'IDBKeyRange is not available here; pass the one matching `factory` (fake-indexeddb exports it)',
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const request = factory.open(dbName, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(UPDATES)) db.createObjectStore(UPDATES);
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
        if (!db.objectStoreNames.contains(SUMMARIES)) db.createObjectStore(SUMMARIES);
      };
      request.onsuccess = () => resolve(new IndexedDbStorage(request.result, keyRange));
      request.onerror = () =>
        reject(new Error(`cannot open IndexedDB database ${dbName}: ${request.error?.message}`));
      request.onblocked = () =>
        reject(new Error(`IndexedDB database ${dbName} is blocked by another connection`));
    });
  }

  async load(docName: string): Promise<StoredDoc> {
    checkDocName(docName);
    const tx = this.#tx([UPDATES], 'readonly');
    const store = tx.objectStore(UPDATES);
    const range = this.#docRange(docName);
    const [updates, keys] = await Promise.all([
      request<unknown[]>(store.getAll(range)),
      request<IDBValidKey[]>(store.getAllKeys(range)),
    ]);
    const last = keys.at(-1) as UpdateKey | undefined;
    return {
      updates: updates.map((u) => asBytes(u, docName)),
      cursor: last ? last[1] : 0,
    };
  }

  /**
   * Appends made in one turn, or while the previous batch commits, share one
   * transaction (group commit): a fresh device storing thousands of docs
   * paid one strict (flushed) transaction per doc, most of its load time
   * waiting on IndexedDB (bench `coldload`). Each call still resolves only
   * once its updates committed, and all-or-nothing: a failed batch rejects
   * every call in it.
   */
  append(docName: string, updates: readonly Uint8Array[], summary?: Uint8Array): Promise<void> {
    try {
      checkDocName(docName);
      checkUpdates(updates);
      if (summary !== undefined) checkBytes(summary, 'summary');
      if (this.#closed) throw new Error('IndexedDbStorage is closed');
    } catch (err) {
      return Promise.reject(err);
    }
    if (updates.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // Copies, so a caller reusing its buffer cannot change what is stored.
      this.#pending.push({
        docName,
        updates: updates.map((u) => u.slice()),
        summary: summary?.slice(),
        resolve,
        reject,
      });
      if (!this.#writing) {
        this.#writing = true;
        // After the current turn's other appends joined.
        queueMicrotask(() => this.#writeBatch());
      }
    });
  }

  #writeBatch(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) {
      this.#writing = false;
      return;
    }
    let done: Promise<void>;
    /** Summaries this batch holds back, kept once it committed. */
    const deferredHere = new Map<string, DeferredSummary>();
    try {
      const tx = this.#tx([UPDATES, SUMMARIES], 'readwrite');
      done = committed(tx);
      const store = tx.objectStore(UPDATES);
      const summaries = tx.objectStore(SUMMARIES);
      const byDoc = new Map<string, PendingAppend[]>();
      for (const append of batch) {
        const appends = byDoc.get(append.docName);
        if (appends) appends.push(append);
        else byDoc.set(append.docName, [append]);
      }
      // A fresh device's batches start hundreds of docs: their summaries wait
      // for a quiet moment (`#flushSummaries`), halving the requests (and
      // the page's request events) while the notes stream in (bench
      // `coldload`). Meanwhile such a doc has no summary, as it may always.
      const deferring = byDoc.size >= DEFER_SUMMARIES_MIN_DOCS;
      let summarized: Set<IDBValidKey> | null = null;
      if (deferring) {
        // Which of these docs hold a summary (one for an empty log can be put):
        // dropped, not left to describe a log this batch extends. Read before
        // the log's keys, so it is in by the time `write` runs.
        const names = [...byDoc.keys()].sort();
        const summaryKeys = summaries.getAllKeys(
          this.#keyRange.bound(names[0] as string, names.at(-1) as string),
        );
        summaryKeys.onsuccess = () => {
          summarized = new Set(summaryKeys.result);
        };
      }
      // Every read below runs inside this transaction, so concurrent appends
      // (from this tab or another) serialize instead of taking the same key.
      const write = (docName: string, appends: PendingAppend[], lastSeq: number) => {
        let seq = lastSeq;
        for (const { updates } of appends) {
          for (const update of updates) store.add(update, [docName, ++seq] satisfies UpdateKey);
        }
        // Whatever this append sets, an older deferred summary no longer applies.
        this.#deferred.delete(docName);
        // A summary describes the state after its own append; with several
        // callers in one batch, nobody described the combined state.
        const summary = appends.length === 1 ? appends[0]?.summary : undefined;
        if (summary !== undefined && deferring && lastSeq === 0) {
          if ((summarized as Set<IDBValidKey> | null)?.has(docName)) summaries.delete(docName);
          deferredHere.set(docName, { summary, cursor: seq });
        } else if (summary === undefined) summaries.delete(docName);
        else summaries.put(summary, docName);
      };
      this.#withLastSeqs(store, byDoc, write);
    } catch (err) {
      done = Promise.reject(err);
    }
    void done.then(
      () => {
        for (const [docName, deferred] of deferredHere) this.#deferred.set(docName, deferred);
        this.#scheduleSummaries();
        for (const append of batch) append.resolve();
      },
      (err: unknown) => {
        for (const append of batch) append.reject(err);
      },
    );
    // The next batch starts once this one settled (one append transaction in flight).
    void done.finally(() => this.#writeBatch()).catch(() => undefined);
  }

  /**
   * Calls `write` for each doc of `byDoc` with the last seq of its log, read
   * inside `store`'s transaction (so writes from other tabs serialize): a
   * key cursor per doc for a few docs; for more, one bounded key read over
   * the range they span, instead of a cursor per doc. A fresh device's
   * batches hold hundreds of docs, and a request per doc cost the page and
   * the browser's storage thread ~0.2 ms each (bench `coldload`). Docs the
   * read may not have covered (it stopped at its limit) still take a cursor.
   */
  #withLastSeqs<T>(
    store: IDBObjectStore,
    byDoc: Map<string, T>,
    write: (docName: string, item: T, lastSeq: number) => void,
  ): void {
    const viaCursor = (docName: string, item: T) => {
      const cursorReq = store.openKeyCursor(this.#docRange(docName), 'prev');
      cursorReq.onsuccess = () => {
        const lastKey = cursorReq.result?.key as UpdateKey | undefined;
        write(docName, item, lastKey ? lastKey[1] : 0);
      };
    };
    if (byDoc.size < RANGE_READ_MIN_DOCS) {
      for (const [docName, item] of byDoc) viaCursor(docName, item);
      return;
    }
    // IndexedDB orders string keys by UTF-16 code units, as the default sort and `<` do.
    const names = [...byDoc.keys()].sort();
    const first = names[0] as string;
    const last = names.at(-1) as string;
    const limit = names.length * RANGE_READ_KEYS_PER_DOC;
    // An array sorts after every number: [last, []] ends after the last doc's every key.
    const keysReq = store.getAllKeys(this.#keyRange.bound([first], [last, []]), limit);
    keysReq.onsuccess = () => {
      const keys = keysReq.result as UpdateKey[];
      const lastSeqs = new Map<string, number>();
      // Ascending: a doc's last key comes last.
      for (const [name, seq] of keys) if (byDoc.has(name)) lastSeqs.set(name, seq);
      // At the limit, the doc of the last key read, and those after it, may have more keys.
      const cutoff = keys.length < limit ? undefined : (keys.at(-1) as UpdateKey)[0];
      for (const name of names) {
        const item = byDoc.get(name) as T;
        if (cutoff !== undefined && name >= cutoff) viaCursor(name, item);
        else write(name, item, lastSeqs.get(name) ?? 0);
      }
    };
  }

  /** (Re)starts the quiet-time wait before deferred summaries are written. */
  #scheduleSummaries(): void {
    if (this.#deferred.size === 0 || this.#closed) return;
    if (this.#deferTimer !== null) clearTimeout(this.#deferTimer);
    this.#deferTimer = setTimeout(() => {
      this.#deferTimer = null;
      // Appends go first.
      if (this.#writing) this.#scheduleSummaries();
      else this.#flushSummaries();
    }, DEFER_SUMMARIES_QUIET_MS);
  }

  /**
   * Writes the deferred summaries in one transaction, each only while its
   * doc's log still ends where the summary said (another tab may have
   * appended). One that fails to be written leaves its doc without one.
   */
  #flushSummaries(): void {
    const deferred = this.#deferred;
    if (deferred.size === 0 || this.#closed) return;
    this.#deferred = new Map();
    try {
      const tx = this.#tx([UPDATES, SUMMARIES], 'readwrite');
      committed(tx).catch(() => undefined);
      const store = tx.objectStore(UPDATES);
      const summaries = tx.objectStore(SUMMARIES);
      const write = (docName: string, { summary, cursor }: DeferredSummary, lastSeq: number) => {
        if (lastSeq === cursor) summaries.put(summary, docName);
      };
      this.#withLastSeqs(store, deferred, write);
    } catch {
      // Closed meanwhile: those docs stay without a summary.
    }
  }

  async putSummary(docName: string, summary: Uint8Array, cursor: number): Promise<boolean> {
    checkDocName(docName);
    checkBytes(summary, 'summary');
    checkCursor(cursor);
    const tx = this.#tx([UPDATES, SUMMARIES], 'readwrite');
    const done = committed(tx);
    let stored = false;
    const cursorReq = tx.objectStore(UPDATES).openKeyCursor(this.#docRange(docName), 'prev');
    cursorReq.onsuccess = () => {
      const lastKey = cursorReq.result?.key as UpdateKey | undefined;
      // Something appended since the caller's `load`: the summary no longer describes the log.
      if ((lastKey ? lastKey[1] : 0) !== cursor) return;
      tx.objectStore(SUMMARIES).put(summary.slice(), docName);
      stored = true;
    };
    await done;
    return stored;
  }

  async loadSummaries(): Promise<Map<string, Uint8Array>> {
    const tx = this.#tx([SUMMARIES], 'readonly');
    const store = tx.objectStore(SUMMARIES);
    const [values, keys] = await Promise.all([
      request<unknown[]>(store.getAll()),
      request<IDBValidKey[]>(store.getAllKeys()),
    ]);
    const summaries = new Map<string, Uint8Array>();
    keys.forEach((key, i) => {
      summaries.set(String(key), asBytes(values[i], `summary of ${String(key)}`));
    });
    return summaries;
  }

  async metaKeys(prefix: string): Promise<string[]> {
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const tx = this.#tx([META], 'readonly');
    const range = prefix === '' ? undefined : this.#keyRange.bound(prefix, `${prefix}\uffff`);
    const keys = await request<IDBValidKey[]>(tx.objectStore(META).getAllKeys(range));
    return keys.filter((key): key is string => typeof key === 'string' && key.startsWith(prefix));
  }

  async compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    checkDocName(docName);
    checkBytes(snapshot, 'snapshot');
    checkCursor(cursor);
    const tx = this.#tx([UPDATES], 'readwrite');
    const store = tx.objectStore(UPDATES);
    const done = committed(tx);
    store.delete(this.#keyRange.bound([docName, -Infinity], [docName, cursor]));
    store.put(snapshot.slice(), [docName, cursor] satisfies UpdateKey);
    await done;
  }

  async list(prefix: string): Promise<string[]> {
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const tx = this.#tx([UPDATES], 'readonly');
    const store = tx.objectStore(UPDATES);
    const names: string[] = [];
    // Pages of keys, one request each: a key cursor hopping from doc to doc
    // cost a round trip to the browser's storage per doc (0.6 s for 500 docs
    // at start-up, holding up every other read; bench `coldload`).
    let from: IDBKeyRange = this.#keyRange.lowerBound([prefix]);
    for (;;) {
      const keys = await request<IDBValidKey[]>(store.getAllKeys(from, LIST_PAGE_KEYS));
      for (const key of keys) {
        const [name] = key as UpdateKey;
        if (!name.startsWith(prefix)) return names;
        if (names.at(-1) !== name) names.push(name);
      }
      const last = keys.at(-1) as UpdateKey | undefined;
      if (last === undefined || keys.length < LIST_PAGE_KEYS) return names;
      // An array sorts after every number, so [name, []] skips the rest of this doc's log.
      from = this.#keyRange.lowerBound([last[0], []]);
    }
  }

  async delete(docName: string): Promise<void> {
    checkDocName(docName);
    this.#deferred.delete(docName);
    const tx = this.#tx([UPDATES, SUMMARIES], 'readwrite');
    const done = committed(tx);
    tx.objectStore(UPDATES).delete(this.#docRange(docName));
    tx.objectStore(SUMMARIES).delete(docName);
    await done;
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    checkMetaKey(key);
    const tx = this.#tx([META], 'readonly');
    const value = await request<unknown>(tx.objectStore(META).get(key));
    return value === undefined ? undefined : asBytes(value, `meta ${key}`);
  }

  async setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    checkMetaKey(key);
    if (value !== undefined) checkBytes(value, 'meta value');
    const tx = this.#tx([META], 'readwrite');
    const done = committed(tx);
    const store = tx.objectStore(META);
    if (value === undefined) store.delete(key);
    else store.put(value.slice(), key);
    await done;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#deferTimer !== null) clearTimeout(this.#deferTimer);
    this.#deferTimer = null;
    // Queued behind any append still in flight; closing lets both finish.
    this.#flushSummaries();
    this.#closed = true;
    this.#db.close();
  }

  #tx(stores: string[], mode: IDBTransactionMode): IDBTransaction {
    if (this.#closed) throw new Error('IndexedDbStorage is closed');
    // 'strict' asks the browser to flush to disk before `complete`: an append
    // must survive a crash once it is reported stored.
    return this.#db.transaction(stores, mode, { durability: 'strict' });
  }

  #docRange(docName: string): IDBKeyRange {
    return this.#keyRange.bound([docName, -Infinity], [docName, Infinity]);
  }
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function asBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  // Structured clone across realms (fake-indexeddb, other frames) may not keep the prototype.
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new Error(`IndexedDB holds a non-binary value for ${what}`);
}
