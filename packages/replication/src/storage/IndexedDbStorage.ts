import type { StorageAdapter, StoredDoc } from '../ports.ts';
import { checkBytes, checkCursor, checkDocName, checkMetaKey, checkUpdates } from './checkArgs.ts';

const UPDATES = 'updates';
const META = 'meta';
const DB_VERSION = 1;

/** Key of one stored update: the doc's name, then its position in that doc's log. */
type UpdateKey = [docName: string, seq: number];

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

  async append(docName: string, updates: readonly Uint8Array[]): Promise<void> {
    checkDocName(docName);
    checkUpdates(updates);
    if (updates.length === 0) return;
    const tx = this.#tx([UPDATES], 'readwrite');
    const store = tx.objectStore(UPDATES);
    const done = committed(tx);
    // The last key is read inside the same transaction, so concurrent appends
    // (from this tab or another) serialize instead of taking the same key.
    const cursorReq = store.openKeyCursor(this.#docRange(docName), 'prev');
    cursorReq.onsuccess = () => {
      const lastKey = cursorReq.result?.key as UpdateKey | undefined;
      let seq = lastKey ? lastKey[1] : 0;
      for (const update of updates) store.add(update.slice(), [docName, ++seq] satisfies UpdateKey);
    };
    await done;
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
    const done = committed(tx);
    const cursorReq = store.openKeyCursor(this.#keyRange.lowerBound([prefix]));
    cursorReq.onsuccess = () => {
      const cursor = cursorReq.result;
      if (!cursor) return;
      const [name] = cursor.key as UpdateKey;
      if (!name.startsWith(prefix)) return;
      names.push(name);
      // An array sorts after every number, so [name, []] skips the rest of this doc's log.
      cursor.continue([name, []]);
    };
    await done;
    return names;
  }

  async delete(docName: string): Promise<void> {
    checkDocName(docName);
    const tx = this.#tx([UPDATES], 'readwrite');
    const done = committed(tx);
    tx.objectStore(UPDATES).delete(this.#docRange(docName));
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
