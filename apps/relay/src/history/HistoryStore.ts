import type { LevelStorage } from '../LevelStorage.ts';

/** Why a version was taken. */
export type VersionReason = 'scheduled' | 'purge' | 'shutdown';

/** What the history keeps about one version of one doc (its state is stored beside it). */
export interface VersionMeta {
  /** 16 hex digits, increasing with time (unique per relay). */
  id: string;
  /** When it was taken (ms epoch). */
  at: number;
  reason: VersionReason;
  /** Display names of whoever inserted since the previous version (self-declared, see docs). */
  authors: string[];
  /** Bytes of the stored state (a V2-encoded Yjs update). */
  size: number;
  /** A note's title when the version was taken (note docs only). */
  title: string | null;
  /** The doc's state vector (client → clock), to tell the next version's authors. */
  clocks: Record<string, number>;
  /** `contentDigest` of the state: an unchanged doc gets no new version. */
  digest: string;
}

/** A note whose index entry was removed (purge), as the history remembers it. */
export interface PurgedNote {
  noteId: string;
  title: string;
  purgedAt: number;
}

type Records = Pick<LevelStorage, 'writeRecords' | 'readRecords'>;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const ID = /^[0-9a-f]{16}$/;

/** Same escaping as the update log: no doc's key range contains another's. */
function encodeName(name: string): string {
  return encodeURIComponent(name).replaceAll('!', '%21');
}

const metaPrefix = (doc: string) => `h!v!${encodeName(doc)}!`;
const statePrefix = (doc: string) => `h!d!${encodeName(doc)}!`;
const purgedPrefix = (ws: string) => `h!p!${encodeName(ws)}!`;

function parseJson<T>(bytes: Uint8Array): T {
  return JSON.parse(fromUtf8.decode(bytes)) as T;
}

/**
 * Versions (snapshots) of docs in the relay's LevelDB, beside the update
 * log: `h!v!<doc>!<id>` → `VersionMeta` (JSON), `h!d!<doc>!<id>` → the
 * state as a V2-encoded update, `h!p!<workspace>!<noteId>` → `PurgedNote`.
 * Listing reads only the small meta records.
 */
export class HistoryStore {
  readonly #records: Records;
  #lastId = 0n;

  constructor(records: Records) {
    this.#records = records;
  }

  /** A fresh version id: the time in µs-ish steps, strictly increasing. */
  nextId(at: number): string {
    const candidate = BigInt(Math.max(0, Math.floor(at))) * 1000n;
    this.#lastId = candidate > this.#lastId ? candidate : this.#lastId + 1n;
    return this.#lastId.toString(16).padStart(16, '0');
  }

  /** Stores a version (meta and state in one atomic write). */
  async put(docName: string, meta: VersionMeta, state: Uint8Array): Promise<void> {
    if (!ID.test(meta.id)) throw new RangeError(`bad version id ${meta.id}`);
    await this.#records.writeRecords([
      { key: statePrefix(docName) + meta.id, value: state },
      { key: metaPrefix(docName) + meta.id, value: utf8.encode(JSON.stringify(meta)) },
    ]);
  }

  /** Every version of `docName`, oldest first. */
  async list(docName: string): Promise<VersionMeta[]> {
    const prefix = metaPrefix(docName);
    const records = await this.#records.readRecords({ gte: prefix, lt: `${prefix}\uffff` });
    return records.map(([, value]) => parseJson<VersionMeta>(value));
  }

  /** The newest version of `docName`, if any. */
  async newest(docName: string): Promise<VersionMeta | undefined> {
    const prefix = metaPrefix(docName);
    const [record] = await this.#records.readRecords({
      gte: prefix,
      lt: `${prefix}\uffff`,
      reverse: true,
      limit: 1,
    });
    return record === undefined ? undefined : parseJson<VersionMeta>(record[1]);
  }

  /** One version's meta and state, or `undefined` when there is no such version. */
  async get(
    docName: string,
    id: string,
  ): Promise<{ meta: VersionMeta; state: Uint8Array } | undefined> {
    if (!ID.test(id)) return undefined;
    const [meta] = await this.#records.readRecords({
      gte: metaPrefix(docName) + id,
      lt: `${metaPrefix(docName)}${id}\u0000`,
    });
    const [state] = await this.#records.readRecords({
      gte: statePrefix(docName) + id,
      lt: `${statePrefix(docName)}${id}\u0000`,
    });
    if (meta === undefined || state === undefined) return undefined;
    return { meta: parseJson<VersionMeta>(meta[1]), state: state[1] };
  }

  /** Deletes versions of `docName`. */
  async remove(docName: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#records.writeRecords(
      ids.flatMap((id) => [
        { key: metaPrefix(docName) + id, value: undefined },
        { key: statePrefix(docName) + id, value: undefined },
      ]),
    );
  }

  /** Remembers that a note left workspace `workspaceId`'s index. */
  async putPurged(workspaceId: string, note: PurgedNote): Promise<void> {
    await this.#records.writeRecords([
      {
        key: purgedPrefix(workspaceId) + encodeName(note.noteId),
        value: utf8.encode(JSON.stringify(note)),
      },
    ]);
  }

  /** Notes purged from a workspace, most recently purged first. */
  async purged(workspaceId: string): Promise<PurgedNote[]> {
    const prefix = purgedPrefix(workspaceId);
    const records = await this.#records.readRecords({ gte: prefix, lt: `${prefix}\uffff` });
    return records
      .map(([, value]) => parseJson<PurgedNote>(value))
      .sort((a, b) => b.purgedAt - a.purgedAt);
  }
}
