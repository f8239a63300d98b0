import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { StorageAdapter, StoredDoc } from '@lattice/replication';
import { ClassicLevel } from 'classic-level';
import { crc32c } from './crc32c.ts';
import { KnownLogs } from './KnownLogs.ts';
import { checkLogFiles } from './logFileCheck.ts';

/** Meta key marking a directory as a Lattice relay store; its value is the format version. */
const FORMAT_KEY = 'm!lattice:format';
/**
 * 2: every value is prefixed with a CRC-32C (big-endian) of its key and
 * payload. 1: bare values (migrated to 2 on open, in one atomic batch).
 */
const FORMAT_VERSION = 2;
const CHECKSUM_BYTES = 4;
/** Sequence numbers are fixed-width hex so LevelDB's byte order is append order. */
const SEQ_DIGITS = 16;
const MIN_SEQ = '0'.repeat(SEQ_DIGITS);
const MAX_SEQ = 'f'.repeat(SEQ_DIGITS);

type Batch = ({ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string })[];

/** Options of `LevelStorage.open`. */
export interface LevelStorageOptions {
  /**
   * Told after every successful synced batch write: its duration in seconds
   * and how many put/del operations it carried (metrics). Must not throw.
   */
  onWrite?(seconds: number, ops: number): void;
  /**
   * Read and checksum every record before serving (default `true`): a
   * corrupt store is refused at start instead of when a doc is first asked
   * for. Each record is checked on every read either way.
   */
  verify?: boolean;
  /**
   * For how many docs the store keeps its log's ends between writes
   * (default 20,000, ~100 bytes each); a doc beyond it reads its keys at
   * its next write.
   */
  knownLogs?: number;
  /**
   * Group commit across docs: a synced batch is written this long after the
   * first write queued for it (default 2 ms; 0 writes at once), and the
   * writes that arrive meanwhile share its sync. (Each room has its own
   * window before it appends: `RelayCoreOptions.commitWindowMs`.)
   */
  syncWindowMs?: number;
}

/**
 * ~730 synced batches a second of 3–4 updates each at 2,500 updates/s with
 * no window; LevelDB's writes and syncs then took 7 % of a core on libuv's
 * threads (bench/README.md, "Fan-out", fourteenth round).
 */
const SYNC_WINDOW_MS = 2;

const utf8 = new TextEncoder();

/** `payload` prefixed with the CRC-32C of `key` and `payload`: a flipped bit in either shows. */
function sealRecord(key: string, payload: Uint8Array): Uint8Array {
  const sealed = new Uint8Array(CHECKSUM_BYTES + payload.length);
  new DataView(sealed.buffer).setUint32(0, crc32c(payload, crc32c(utf8.encode(key))));
  sealed.set(payload, CHECKSUM_BYTES);
  return sealed;
}

/** The payload of a sealed record (a copy), or an error naming the record and the store. */
function openRecord(dir: string, key: string, sealed: Uint8Array): Uint8Array {
  if (sealed.length < CHECKSUM_BYTES) {
    throw corruptStore(dir, `record ${key} is ${sealed.length} bytes, shorter than its checksum`);
  }
  const payload = sealed.subarray(CHECKSUM_BYTES);
  const stored = new DataView(sealed.buffer, sealed.byteOffset, CHECKSUM_BYTES).getUint32(0);
  if (crc32c(payload, crc32c(utf8.encode(key))) !== stored) {
    throw corruptStore(dir, `record ${key} fails its checksum`);
  }
  return new Uint8Array(payload);
}

/** The error for a store that must not be served: names the directory and the damage. */
function corruptStore(dir: string, what: string): Error {
  return new Error(
    `relay store at ${dir} is corrupt: ${what}. Refusing to serve it; the directory was left as it is ` +
      '(restore it from a backup or a peer relay, or move it aside to start empty)',
  );
}

interface PendingLoad {
  docName: string;
  resolve: (doc: StoredDoc) => void;
  reject: (err: unknown) => void;
}

/** A turn's loads of this many docs or more are read with one key read (see `load`)… */
const RANGE_LOAD_MIN_DOCS = 4;
/** …of at most this many keys per doc (a compacted log is one or a few). */
const RANGE_LOAD_KEYS_PER_DOC = 16;
/** …whose records are read and handed over this many docs at a time. */
const LOAD_SLICE_DOCS = 64;
/**
 * A compaction whose log start is known deletes the keys below its cursor by
 * number, without reading them, when there are at most this many (a room
 * compacts every few hundred updates); a longer span is read.
 */
const MAX_COMPUTED_DELETES = 10_000;
const KNOWN_LOGS = 20_000;

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

/** Prefix of the version history's records (`writeRecords`). */
export const HISTORY_KEY_PREFIX = 'h!';

function checkRecordKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !key.startsWith(HISTORY_KEY_PREFIX)) {
    throw new TypeError(`record keys must be strings under "${HISTORY_KEY_PREFIX}"`);
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
  readonly #dir: string;
  /**
   * Per doc, the last sequence number used and one no record is below: from
   * a load, then from each append and compaction. classic-level frees an
   * iterator's native memory only when V8 collects it, so the appends and
   * compactions of a loaded doc read no keys.
   */
  readonly #known: KnownLogs;
  #queue: QueuedWrite[] = [];
  /** When the first write of the queued batch arrived (`performance.now()`). */
  #queuedAt = 0;
  readonly #syncWindowMs: number;
  /** Loads of this turn, read together once it ends. */
  #loads: PendingLoad[] = [];
  #writing: Promise<void> | null = null;
  #closed = false;
  readonly #onWrite: LevelStorageOptions['onWrite'];

  private constructor(
    db: ClassicLevel<string, Uint8Array>,
    dir: string,
    options: LevelStorageOptions,
  ) {
    this.#db = db;
    this.#dir = dir;
    this.#onWrite = options.onWrite;
    this.#known = new KnownLogs(options.knownLogs ?? KNOWN_LOGS);
    this.#syncWindowMs = options.syncWindowMs ?? SYNC_WINDOW_MS;
  }

  /**
   * Opens (creating if needed) the store in `dir`. Rejects with a clear message
   * when the directory is not a readable Lattice store (corrupt LevelDB files,
   * locked by another process, another format), rather than serving wrong data.
   */
  static async open(dir: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const { syncWindowMs, knownLogs } = options;
    if (syncWindowMs !== undefined && !(Number.isFinite(syncWindowMs) && syncWindowMs >= 0)) {
      throw new RangeError(`syncWindowMs must be milliseconds ≥ 0, got ${syncWindowMs}`);
    }
    if (knownLogs !== undefined && !(Number.isInteger(knownLogs) && knownLogs >= 1)) {
      throw new RangeError(`knownLogs must be a whole number ≥ 1, got ${knownLogs}`);
    }
    // Before LevelDB opens: its recovery would drop a corrupt log block
    // silently and then delete the log.
    const logProblem = await checkLogFiles(dir);
    if (logProblem !== undefined) {
      throw corruptStore(
        dir,
        `${logProblem.file} has a damaged record at byte ${logProblem.offset} (${logProblem.problem})`,
      );
    }
    const db = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    try {
      await db.open();
    } catch (err) {
      const text = errorText(err);
      if (/corrupt/i.test(text)) throw corruptStore(dir, text);
      throw new Error(`cannot open relay store at ${dir}: ${text}`);
    }
    try {
      await LevelStorage.#checkFormat(db, dir);
      if (options.verify ?? true) await LevelStorage.#verify(db, dir);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return new LevelStorage(db, dir, options);
  }

  /** Reads every record and checks its checksum (and LevelDB's block structure on the way). */
  static async #verify(db: ClassicLevel<string, Uint8Array>, dir: string): Promise<void> {
    try {
      for await (const [key, value] of db.iterator()) {
        if (key !== FORMAT_KEY) openRecord(dir, key, value);
      }
    } catch (err) {
      if (err instanceof Error && err.message.startsWith(`relay store at ${dir} is corrupt`)) {
        throw err;
      }
      throw corruptStore(dir, `reading it failed: ${errorText(err)}`);
    }
  }

  /** Format 1 → 2: checksums every record; one atomic batch, so a crash leaves format 1 intact. */
  static async #migrateFrom1(db: ClassicLevel<string, Uint8Array>): Promise<void> {
    const ops: Batch = [];
    for await (const [key, value] of db.iterator()) {
      if (key !== FORMAT_KEY) ops.push({ type: 'put', key, value: sealRecord(key, value) });
    }
    ops.push({ type: 'put', key: FORMAT_KEY, value: Uint8Array.of(FORMAT_VERSION) });
    await db.batch(ops, { sync: true });
  }

  static async #checkFormat(db: ClassicLevel<string, Uint8Array>, dir: string): Promise<void> {
    let marker: Uint8Array | undefined;
    let anyKey: string | undefined;
    try {
      marker = await db.get(FORMAT_KEY);
      for await (const key of db.keys({ limit: 1 })) anyKey = key;
    } catch (err) {
      // LevelDB opened it, so it is ours to read: any failure here is damage (a
      // table cut short reads as "IO error … Invalid argument").
      throw corruptStore(dir, `reading it failed: ${errorText(err)}`);
    }
    if (marker === undefined) {
      if (anyKey !== undefined) {
        throw new Error(`${dir} holds a LevelDB database that is not a Lattice relay store`);
      }
      await db.put(FORMAT_KEY, Uint8Array.of(FORMAT_VERSION), { sync: true });
      return;
    }
    if (marker.length === 1 && marker[0] === 1) {
      await LevelStorage.#migrateFrom1(db);
      return;
    }
    if (marker.length !== 1 || marker[0] !== FORMAT_VERSION) {
      throw new Error(
        `relay store at ${dir} has format ${[...marker].join('.')}, this relay reads format ${FORMAT_VERSION}`,
      );
    }
  }

  /**
   * Loads asked for in the same turn are read together (`#loadTogether`): a
   * fresh device subscribing to a workspace has the relay open 1,000 rooms at
   * once, and an iterator per doc cost ~0.1 ms of the relay's main thread
   * each (bench `coldload`).
   */
  load(docName: string): Promise<StoredDoc> {
    try {
      this.#check();
      checkDocName(docName);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      if (this.#loads.push({ docName, resolve, reject }) === 1) {
        setImmediate(() => void this.#loadTogether());
      }
    });
  }

  /**
   * One key read over the range the docs span and one multi-get of their
   * records, instead of an iterator per doc. The key read is bounded; a doc it
   * may not have covered, and every doc of a small group, is read on its own.
   * Each caller gets its own result, and a doc that cannot be read fails only
   * its own loads.
   */
  async #loadTogether(): Promise<void> {
    const loads = this.#loads;
    this.#loads = [];
    const epoch = this.#known.epoch;
    const waiting = new Map<string, PendingLoad[]>();
    for (const load of loads) {
      const same = waiting.get(load.docName);
      if (same === undefined) waiting.set(load.docName, [load]);
      else same.push(load);
    }
    const settle = (docName: string, result: Promise<StoredDoc>) => {
      const callers = waiting.get(docName) as PendingLoad[];
      result.then(
        (doc) => {
          for (const [i, caller] of callers.entries()) {
            // A copy for each further caller: callers own what they get.
            caller.resolve(i === 0 ? doc : { ...doc, updates: doc.updates.map((u) => u.slice()) });
          }
        },
        (err: unknown) => {
          for (const caller of callers) caller.reject(err);
        },
      );
    };
    const alone = (docName: string) => settle(docName, this.#loadOne(docName, epoch));
    if (waiting.size < RANGE_LOAD_MIN_DOCS) {
      for (const docName of waiting.keys()) alone(docName);
      return;
    }
    // Encoded names are ASCII: JS string order is LevelDB's byte order.
    const byPrefix = new Map([...waiting.keys()].map((name) => [docPrefix(name), name]));
    const prefixes = [...byPrefix.keys()].sort();
    const limit = prefixes.length * RANGE_LOAD_KEYS_PER_DOC;
    let keys: string[];
    try {
      this.#check();
      keys = await this.#db
        .keys({
          gte: `${prefixes[0]}${MIN_SEQ}`,
          lte: `${prefixes.at(-1)}${MAX_SEQ}`,
          limit,
        })
        .all();
    } catch {
      // Each load then fails (or not) on its own, with its own error.
      for (const docName of waiting.keys()) alone(docName);
      return;
    }
    // At the limit, the doc of the last key read, and those after it, may have more.
    const cutoff = keys.length < limit ? undefined : (keys.at(-1) as string).slice(0, -SEQ_DIGITS);
    const covered = new Map<string, string[]>();
    for (const prefix of prefixes) {
      const docName = byPrefix.get(prefix) as string;
      if (cutoff === undefined || prefix < cutoff) covered.set(prefix, []);
      else alone(docName);
    }
    for (const key of keys) covered.get(key.slice(0, -SEQ_DIGITS))?.push(key);
    // The records are read and handed over in slices, in the order asked:
    // the first rooms can answer while later records are still being read
    // (LevelDB's threads read the slices side by side) and later rooms built
    // (a room merges its log), instead of after all of them.
    const slices: {
      docs: { docName: string; prefix: string; keys: string[] }[];
      keys: string[];
    }[] = [];
    // `byPrefix` holds the docs in the order asked.
    for (const [prefix, docName] of byPrefix) {
      const docKeys = covered.get(prefix);
      if (docKeys === undefined) continue;
      let slice = slices.at(-1);
      if (slice === undefined || slice.docs.length === LOAD_SLICE_DOCS) {
        slice = { docs: [], keys: [] };
        slices.push(slice);
      }
      slice.docs.push({ docName, prefix, keys: docKeys });
      slice.keys.push(...docKeys);
    }
    const reads = slices.map(({ keys: wanted }) =>
      // Each read settles to a result, so none is left rejected while an earlier one is awaited.
      (wanted.length === 0 ? Promise.resolve([]) : this.#getMany(wanted)).then(
        (values): (Uint8Array | undefined)[] | undefined => values,
        () => undefined,
      ),
    );
    for (const [i, slice] of slices.entries()) {
      if (i > 0) await nextTurn();
      const values = await reads[i];
      if (values === undefined) {
        for (const { docName } of slice.docs) alone(docName);
        continue;
      }
      const recordOf = new Map(slice.keys.map((key, j) => [key, values[j]]));
      for (const { docName, prefix, keys: docKeys } of slice.docs) {
        // A key without a record: gone since the key read (a compaction, which
        // left its snapshot at a later or equal key).
        const records = docKeys.map((key): [string, Uint8Array | undefined] => [
          key,
          recordOf.get(key),
        ]);
        settle(
          docName,
          Promise.resolve().then(() => this.#storedDoc(docName, prefix, records, epoch)),
        );
      }
    }
  }

  async #getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    this.#check();
    return await this.#db.getMany(keys);
  }

  async #loadOne(docName: string, epoch: number): Promise<StoredDoc> {
    this.#check();
    const prefix = docPrefix(docName);
    // `all()` reads the log in batches: one trip to LevelDB's thread for a
    // short log, where entry-by-entry iteration took two or three.
    const entries = await this.#db
      .iterator({ gte: `${prefix}${MIN_SEQ}`, lte: `${prefix}${MAX_SEQ}` })
      .all();
    return this.#storedDoc(docName, prefix, entries, epoch);
  }

  /**
   * A doc's log from its records in key order (each checked and copied); keys
   * without one are skipped. The log's ends are kept for later writes
   * (`KnownLogs.learn`, for a read begun at `epoch`).
   */
  #storedDoc(
    docName: string,
    prefix: string,
    records: Iterable<readonly [string, Uint8Array | undefined]>,
    epoch: number,
  ): StoredDoc {
    const updates: Uint8Array[] = [];
    let first: number | undefined;
    let cursor = 0;
    for (const [key, value] of records) {
      if (value === undefined) continue;
      // A copy: callers own what they get, and LevelDB's buffers may be pooled.
      updates.push(openRecord(this.#dir, key, value));
      cursor = Number.parseInt(key.slice(prefix.length), 16);
      first ??= cursor;
    }
    // An empty log: every later record is numbered above `cursor`.
    this.#known.learn(docName, cursor, first ?? cursor + 1, epoch);
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
    await this.#known.writing(docName, async () => {
      const first = await this.#reserve(docName, copies.length);
      await this.#write(
        copies.map((value, i) => ({ type: 'put', key: updateKey(docName, first + i), value })),
      );
    });
  }

  async compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    this.#check();
    checkDocName(docName);
    checkBytes(snapshot, 'snapshot');
    if (typeof cursor !== 'number' || !Number.isInteger(cursor) || cursor < 0) {
      throw new TypeError('cursor must be a non-negative integer from load()');
    }
    await this.#known.writing(docName, async () => {
      const ops: Batch = [];
      const start = this.#known.start(docName);
      if (start !== undefined && cursor - start <= MAX_COMPUTED_DELETES) {
        // Numbers below `start` hold no record; one that never got its record
        // (a failed append) costs a tombstone.
        for (let seq = start; seq < cursor; seq++) {
          ops.push({ type: 'del', key: updateKey(docName, seq) });
        }
      } else {
        for await (const key of this.#db.keys({
          gte: updateKey(docName, 0),
          lte: updateKey(docName, cursor),
        })) {
          ops.push({ type: 'del', key });
        }
      }
      // The snapshot takes the place of what it replaces: at `cursor`, ahead of later appends.
      ops.push({ type: 'put', key: updateKey(docName, cursor), value: new Uint8Array(snapshot) });
      // Set as the batch is queued: batches are written in queue order, so a
      // later compaction's batch runs after this one has deleted below `cursor`.
      this.#known.setStart(docName, cursor);
      try {
        await this.#write(ops);
      } catch (err) {
        // What is below `cursor` now is unknown: the next compaction reads it.
        this.#known.setStart(docName, undefined);
        throw err;
      }
    });
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
    // A load that overlapped this delete may have read the log from before it.
    this.#known.forget(docName);
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    checkMetaKey(key);
    const value = await this.#db.get(`m!${key}`);
    return value === undefined ? undefined : openRecord(this.#dir, `m!${key}`, value);
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

  /**
   * Writes records of the version history (keys under `h!`, outside the
   * update log and meta): sealed and group-committed like every other
   * write, so the checksums checked at open and on read cover them too. A
   * `value` of `undefined` deletes the key.
   */
  async writeRecords(
    ops: readonly { key: string; value: Uint8Array | undefined }[],
  ): Promise<void> {
    this.#check();
    for (const op of ops) checkRecordKey(op.key);
    await this.#write(
      ops.map((op) =>
        op.value === undefined
          ? { type: 'del', key: op.key }
          : { type: 'put', key: op.key, value: new Uint8Array(op.value) },
      ),
    );
  }

  /** Reads `h!` records in key order within `[gte, lt)` (checksums checked). */
  async readRecords(range: {
    gte: string;
    lt: string;
    reverse?: boolean;
    limit?: number;
  }): Promise<Array<[string, Uint8Array]>> {
    this.#check();
    checkRecordKey(range.gte);
    checkRecordKey(range.lt);
    const records: Array<[string, Uint8Array]> = [];
    for await (const [key, value] of this.#db.iterator({
      gte: range.gte,
      lt: range.lt,
      reverse: range.reverse ?? false,
      limit: range.limit ?? -1,
    })) {
      records.push([key, openRecord(this.#dir, key, value)]);
    }
    return records;
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
    const previous = this.#known.last(docName) ?? this.#readLastSeq(docName);
    const reserved = previous.then((last) => last + count);
    this.#known.setLast(docName, reserved);
    reserved.catch(() => this.#known.dropLast(docName, reserved));
    return (await previous) + 1;
  }

  async #readLastSeq(docName: string): Promise<number> {
    const prefix = docPrefix(docName);
    for await (const key of this.#db.keys({
      gte: `${prefix}${MIN_SEQ}`,
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
    const sealed: Batch = ops.map((op) =>
      op.type === 'put' ? { ...op, value: sealRecord(op.key, op.value) } : op,
    );
    return new Promise<void>((resolve, reject) => {
      if (this.#queue.length === 0) this.#queuedAt = performance.now();
      this.#queue.push({ ops: sealed, resolve, reject });
      if (this.#writing === null) this.#writing = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const wait = this.#queuedAt + this.#syncWindowMs - performance.now();
      if (wait > 0) await sleep(wait);
      const writes = this.#queue;
      this.#queue = [];
      try {
        const started = performance.now();
        const ops = await this.#writeBatch(writes);
        this.#observeWrite((performance.now() - started) / 1000, ops);
        for (const w of writes) w.resolve();
      } catch (err) {
        for (const w of writes) w.reject(err);
      }
    }
    this.#writing = null;
  }

  /**
   * Writes every op of `writes` in one synced, atomic LevelDB batch; returns
   * how many. A chained batch hands each op to the binding as it is added:
   * the array form clones, validates and re-reads every op object, ~3× the
   * CPU per op, and under fan-out load it was the largest LevelDB item in
   * the relay's profile (bench/README.md, "Fan-out", fourth round).
   */
  async #writeBatch(writes: readonly QueuedWrite[]): Promise<number> {
    const batch = this.#db.batch();
    let ops = 0;
    try {
      for (const w of writes) {
        for (const op of w.ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
          ops++;
        }
      }
    } catch (err) {
      // Nothing was written: release the batch, the callers get the error.
      await batch.close();
      throw err;
    }
    await batch.write({ sync: true });
    return ops;
  }

  #observeWrite(seconds: number, ops: number): void {
    try {
      this.#onWrite?.(seconds, ops);
    } catch {
      // An observer's bug must not fail a write that succeeded.
    }
  }
}
