import type { StorageAdapter, StoredDoc } from '@lattice/replication';
import { ClassicLevel } from 'classic-level';

/** Meta key marking a directory as a Lattice relay store; its value is the format version. */
const FORMAT_KEY = 'm!lattice:format';
const FORMAT_VERSION = 1;
/** Sequence numbers are fixed-width hex so LevelDB's byte order is append order. */
const SEQ_DIGITS = 16;
const MAX_SEQ = 'f'.repeat(SEQ_DIGITS);

type Batch = ({ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string })[];

interface QueuedWrite {
  ops: Batch;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * `encodeURIComponent` leaves `!` alone, and `!` separates key parts: escape
 * it too, so that no doc name's key range contains another doc's keys.
 */
function encodeDocName(docName: string): string {
  return encodeURIComponent(docName).replaceAll('!', '%21');
}

function docPrefix(docName: string): string {
  return `u!${encodeDocName(docName)}!`;
}

function updateKey(docName: string, seq: number): string {
  return docPrefix(docName) + seq.toString(16).padStart(SEQ_DIGITS, '0');
}

function checkDocName(docName: unknown): asserts docName is string {
  if (typeof docName !== 'string' || docName.length === 0) {
    throw new TypeError('doc name must be a non-empty string');
  }
}

function checkMetaKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('meta key must be a non-empty string');
  }
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/**
 * The relay's `StorageAdapter` on LevelDB (`classic-level`). Keys:
 * `u!<encoded doc name>!<seq hex>` for updates, `m!<key>` for meta. Writes
 * from concurrent callers are group-committed: everything queued while one
 * synced batch is being written goes into the next one, each call atomic.
 */
export class LevelStorage implements StorageAdapter {
  readonly #db: ClassicLevel<string, Uint8Array>;
  /** Last used sequence number per doc, read lazily from the store. */
  readonly #lastSeq = new Map<string, Promise<number>>();
  #queue: QueuedWrite[] = [];
  #writing: Promise<void> | null = null;
  #closed = false;

  private constructor(db: ClassicLevel<string, Uint8Array>) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the store in `dir`. Rejects with a clear message
   * when the directory is not a readable Lattice store (corrupt LevelDB files,
   * locked by another process, another format), rather than serving wrong data.
   */
  static async open(dir: string): Promise<LevelStorage> {
    const db = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    try {
      await db.open();
    } catch (err) {
      throw new Error(`cannot open relay store at ${dir}: ${errorText(err)}`);
    }
    try {
      await LevelStorage.#checkFormat(db, dir);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return new LevelStorage(db);
  }

  static async #checkFormat(db: ClassicLevel<string, Uint8Array>, dir: string): Promise<void> {
    let marker: Uint8Array | undefined;
    let anyKey: string | undefined;
    try {
      marker = await db.get(FORMAT_KEY);
      for await (const key of db.keys({ limit: 1 })) anyKey = key;
    } catch (err) {
      throw new Error(`cannot read relay store at ${dir}: ${errorText(err)}`);
    }
    if (marker === undefined) {
      if (anyKey !== undefined) {
        throw new Error(`${dir} holds a LevelDB database that is not a Lattice relay store`);
      }
      await db.put(FORMAT_KEY, Uint8Array.of(FORMAT_VERSION), { sync: true });
      return;
    }
    if (marker.length !== 1 || marker[0] !== FORMAT_VERSION) {
      throw new Error(
        `relay store at ${dir} has format ${[...marker].join('.')}, this relay reads format ${FORMAT_VERSION}`,
      );
    }
  }

  async load(docName: string): Promise<StoredDoc> {
    this.#check();
    checkDocName(docName);
    const prefix = docPrefix(docName);
    const updates: Uint8Array[] = [];
    let cursor = 0;
    for await (const [key, value] of this.#db.iterator({
      gte: `${prefix}${'0'.repeat(SEQ_DIGITS)}`,
      lte: `${prefix}${MAX_SEQ}`,
    })) {
      // Copy: callers own what they get, and LevelDB's buffers may be pooled.
      updates.push(new Uint8Array(value));
      cursor = Number.parseInt(key.slice(prefix.length), 16);
    }
    return { updates, cursor };
  }

  async append(docName: string, updates: readonly Uint8Array[]): Promise<void> {
    this.#check();
    checkDocName(docName);
    if (!Array.isArray(updates)) throw new TypeError('updates must be an array of Uint8Array');
    for (const u of updates) checkBytes(u, 'every update');
    if (updates.length === 0) return;
    // Copy now: the caller may reuse its buffers before the batch is written.
    const copies = updates.map((u) => new Uint8Array(u));
    const first = await this.#reserve(docName, copies.length);
    await this.#write(
      copies.map((value, i) => ({ type: 'put', key: updateKey(docName, first + i), value })),
    );
  }

  async compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    this.#check();
    checkDocName(docName);
    checkBytes(snapshot, 'snapshot');
    if (typeof cursor !== 'number' || !Number.isInteger(cursor) || cursor < 0) {
      throw new TypeError('cursor must be a non-negative integer from load()');
    }
    const ops: Batch = [];
    for await (const key of this.#db.keys({
      gte: updateKey(docName, 0),
      lte: updateKey(docName, cursor),
    })) {
      ops.push({ type: 'del', key });
    }
    // The snapshot takes the place of what it replaces: at `cursor`, ahead of later appends.
    ops.push({ type: 'put', key: updateKey(docName, cursor), value: new Uint8Array(snapshot) });
    await this.#write(ops);
  }

  async list(prefix: string): Promise<string[]> {
    this.#check();
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const names: string[] = [];
    const start = `u!${encodeDocName(prefix)}`;
    const iterator = this.#db.keys({ gte: start, lt: `${start}\uffff` });
    try {
      for (;;) {
        const key = await iterator.next();
        if (key === undefined) break;
        const encoded = key.slice(2, key.lastIndexOf('!'));
        names.push(decodeURIComponent(encoded));
        // Skip the rest of this doc's log.
        iterator.seek(`u!${encoded}!\uffff`);
      }
    } finally {
      await iterator.close();
    }
    return names.sort();
  }

  async delete(docName: string): Promise<void> {
    this.#check();
    checkDocName(docName);
    const ops: Batch = [];
    for await (const key of this.#db.keys({
      gte: updateKey(docName, 0),
      lte: `${docPrefix(docName)}${MAX_SEQ}`,
    })) {
      ops.push({ type: 'del', key });
    }
    await this.#write(ops);
    this.#lastSeq.delete(docName);
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    checkMetaKey(key);
    const value = await this.#db.get(`m!${key}`);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    this.#check();
    checkMetaKey(key);
    if (value === undefined) {
      await this.#write([{ type: 'del', key: `m!${key}` }]);
      return;
    }
    checkBytes(value, 'meta value');
    await this.#write([{ type: 'put', key: `m!${key}`, value: new Uint8Array(value) }]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#writing !== null) await this.#writing;
    await this.#db.close();
  }

  #check(): void {
    if (this.#closed) throw new Error('LevelStorage is closed');
  }

  /** Reserves `count` consecutive sequence numbers for `docName`, in call order. */
  async #reserve(docName: string, count: number): Promise<number> {
    // Chained synchronously so concurrent callers get disjoint, ordered ranges.
    const previous = this.#lastSeq.get(docName) ?? this.#readLastSeq(docName);
    const reserved = previous.then((last) => last + count);
    this.#lastSeq.set(docName, reserved);
    reserved.catch(() => {
      if (this.#lastSeq.get(docName) === reserved) this.#lastSeq.delete(docName);
    });
    return (await previous) + 1;
  }

  async #readLastSeq(docName: string): Promise<number> {
    const prefix = docPrefix(docName);
    for await (const key of this.#db.keys({
      gte: `${prefix}${'0'.repeat(SEQ_DIGITS)}`,
      lte: `${prefix}${MAX_SEQ}`,
      reverse: true,
      limit: 1,
    })) {
      return Number.parseInt(key.slice(prefix.length), 16);
    }
    return 0;
  }

  #write(ops: Batch): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject });
      if (this.#writing === null) this.#writing = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const writes = this.#queue;
      this.#queue = [];
      try {
        await this.#db.batch(
          writes.flatMap((w) => w.ops),
          { sync: true },
        );
        for (const w of writes) w.resolve();
      } catch (err) {
        for (const w of writes) w.reject(err);
      }
    }
    this.#writing = null;
  }
}
