import { fromBase64UrlEncoded, toBase64UrlEncoded } from 'lib0/buffer';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { isValidDocName } from '../protocol.ts';

/** Client id → clock (a decoded Yjs state vector). */
export type StateMap = Map<number, number>;
/** A Yjs delete set (which items are deleted: by item id, not by who deleted them). */
export type DeleteSet = ReturnType<typeof Y.createDeleteSet>;

/** The clock range `[from, to)` that one client id of this session wrote. */
export interface WriteRange {
  from: number;
  to: number;
}

/**
 * The writes this session made through one live doc (one `Y.Doc`, whose
 * client id is fresh per load, so one session writes a doc under many ids).
 */
export interface WriteGroup {
  /** Items inserted, by client id of this session. */
  ranges: Map<number, WriteRange>;
  /** Items this session deleted: a deletion does not advance any state vector. */
  deleted: DeleteSet;
  /**
   * The state the group's latest write was made against (without the
   * group's own ids): what its writes may depend on.
   */
  deps: StateMap;
}

/** What one session has read and written of one doc. */
export interface SessionRecord {
  /** Union of every state of the doc presented to the session as current. */
  read: Y.Snapshot;
  /** Oldest first; at most `MAX_WRITE_GROUPS`. */
  writes: WriteGroup[];
}

/** Beyond this many groups the two oldest are merged (classification gets coarser, `current` does not). */
export const MAX_WRITE_GROUPS = 16;
/** Bumped when the encoding of a record changes; other versions are refused. */
const RECORD_VERSION = 1;
/** Prefix of a session token, naming its format. */
const TOKEN_PREFIX = 'ls1.';

/** A persisted record or session token that cannot be read. */
export class SessionRecordError extends Error {
  override name = 'SessionRecordError';
}

export function emptyRecord(): SessionRecord {
  return { read: Y.emptySnapshot, writes: [] };
}

export function isEmptyRecord(record: SessionRecord): boolean {
  return (
    record.writes.length === 0 && record.read.sv.size === 0 && record.read.ds.clients.size === 0
  );
}

/** Per client, the larger clock. */
export function maxStateMap(a: StateMap, b: StateMap): StateMap {
  const out = new Map(a);
  for (const [client, clock] of b) if (clock > (out.get(client) ?? 0)) out.set(client, clock);
  return out;
}

export function mergeSnapshots(a: Y.Snapshot, b: Y.Snapshot): Y.Snapshot {
  return Y.createSnapshot(Y.mergeDeleteSets([a.ds, b.ds]), maxStateMap(a.sv, b.sv));
}

/** Everything the record requires of a replica's state vector (reads, writes and their dependencies). */
export function requiredStateMap(record: SessionRecord): StateMap {
  let required = record.read.sv;
  for (const group of record.writes) {
    required = maxStateMap(required, group.deps);
    for (const [client, range] of group.ranges) {
      if (range.to > (required.get(client) ?? 0)) {
        if (required === record.read.sv) required = new Map(required);
        required.set(client, range.to);
      }
    }
  }
  return required;
}

/** Client ids under which this session wrote the doc. */
export function sessionClients(record: SessionRecord): Set<number> {
  const clients = new Set<number>();
  for (const group of record.writes) for (const client of group.ranges.keys()) clients.add(client);
  return clients;
}

export function newWriteGroup(): WriteGroup {
  return { ranges: new Map(), deleted: Y.createDeleteSet(), deps: new Map() };
}

/** Folds `from` into `into` (in place). */
export function mergeGroupInto(into: WriteGroup, from: WriteGroup): void {
  for (const [client, range] of from.ranges) {
    const mine = into.ranges.get(client);
    into.ranges.set(
      client,
      mine === undefined
        ? { ...range }
        : { from: Math.min(mine.from, range.from), to: Math.max(mine.to, range.to) },
    );
  }
  into.deleted = Y.mergeDeleteSets([into.deleted, from.deleted]);
  into.deps = maxStateMap(into.deps, from.deps);
  for (const client of into.ranges.keys()) into.deps.delete(client);
}

/**
 * Merges `other` into `record` (in place): the union of both sessions'
 * knowledge. Groups naming the same client id are one live doc and merge.
 */
export function mergeRecordInto(record: SessionRecord, other: SessionRecord): void {
  record.read = mergeSnapshots(record.read, other.read);
  for (const group of other.writes) {
    const same = record.writes.find((mine) =>
      [...group.ranges.keys()].some((c) => mine.ranges.has(c)),
    );
    if (same !== undefined) mergeGroupInto(same, group);
    else if (!record.writes.some((mine) => equalGroups(mine, group))) {
      const copy = newWriteGroup();
      mergeGroupInto(copy, group);
      record.writes.push(copy);
    }
  }
  capWriteGroups(record);
}

/** Keeps at most `MAX_WRITE_GROUPS` groups by merging the oldest ones. */
export function capWriteGroups(record: SessionRecord): void {
  while (record.writes.length > MAX_WRITE_GROUPS) {
    const [oldest, next] = record.writes;
    mergeGroupInto(next!, oldest!);
    record.writes.shift();
  }
}

function equalGroups(a: WriteGroup, b: WriteGroup): boolean {
  return bytesEqual(encodeGroup(a), encodeGroup(b));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// ---- encoding ----

function writeGroup(encoder: encoding.Encoder, group: WriteGroup): void {
  encoding.writeVarUint(encoder, group.ranges.size);
  for (const [client, { from, to }] of group.ranges) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, from);
    encoding.writeVarUint(encoder, to);
  }
  // Yjs's own encodings: a delete set travels inside an (otherwise empty) snapshot.
  encoding.writeVarUint8Array(
    encoder,
    Y.encodeSnapshot(Y.createSnapshot(group.deleted, new Map())),
  );
  encoding.writeVarUint8Array(encoder, Y.encodeStateVector(group.deps));
}

function encodeGroup(group: WriteGroup): Uint8Array {
  const encoder = encoding.createEncoder();
  writeGroup(encoder, group);
  return encoding.toUint8Array(encoder);
}

function writeRecord(encoder: encoding.Encoder, record: SessionRecord): void {
  encoding.writeVarUint(encoder, RECORD_VERSION);
  encoding.writeVarUint8Array(encoder, Y.encodeSnapshot(record.read));
  encoding.writeVarUint(encoder, record.writes.length);
  for (const group of record.writes) writeGroup(encoder, group);
}

/** The record as stored in meta (`session:<docName>`) and carried in tokens. */
export function encodeRecord(record: SessionRecord): Uint8Array {
  const encoder = encoding.createEncoder();
  writeRecord(encoder, record);
  return encoding.toUint8Array(encoder);
}

function readSnapshot(decoder: decoding.Decoder): Y.Snapshot {
  const snapshot = Y.decodeSnapshot(decoding.readVarUint8Array(decoder));
  // Normalized (sorted, merged) so that coverage checks can compare delete sets.
  return Y.createSnapshot(Y.mergeDeleteSets([snapshot.ds]), snapshot.sv);
}

function readRecord(decoder: decoding.Decoder): SessionRecord {
  const version = decoding.readVarUint(decoder);
  if (version !== RECORD_VERSION) {
    throw new SessionRecordError(`record version ${version}, expected ${RECORD_VERSION}`);
  }
  const read = readSnapshot(decoder);
  const groups = decoding.readVarUint(decoder);
  if (groups > MAX_WRITE_GROUPS) throw new SessionRecordError(`${groups} write groups`);
  const writes: WriteGroup[] = [];
  for (let g = 0; g < groups; g++) {
    const group = newWriteGroup();
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const client = decoding.readVarUint(decoder);
      const from = decoding.readVarUint(decoder);
      const to = decoding.readVarUint(decoder);
      if (from >= to) throw new SessionRecordError(`empty write range ${from}..${to}`);
      group.ranges.set(client, { from, to });
    }
    group.deleted = readSnapshot(decoder).ds;
    group.deps = Y.decodeStateVector(decoding.readVarUint8Array(decoder));
    // A group without writes would require its deps without ever being checked against them.
    if (group.ranges.size > 0 || group.deleted.clients.size > 0) writes.push(group);
  }
  return { read, writes };
}

/** Reads what `encodeRecord` wrote; throws `SessionRecordError` naming the problem. */
export function decodeRecord(bytes: Uint8Array): SessionRecord {
  return decodeWhole(bytes, readRecord);
}

function decodeWhole<T>(bytes: Uint8Array, read: (decoder: decoding.Decoder) => T): T {
  try {
    const decoder = decoding.createDecoder(bytes);
    const value = read(decoder);
    if (decoding.hasContent(decoder)) throw new SessionRecordError('trailing bytes');
    return value;
  } catch (err) {
    if (err instanceof SessionRecordError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new SessionRecordError(`malformed (${reason})`, { cause: err });
  }
}

/**
 * A session token: the records of some docs, for a fresh device to check
 * what it is shown against (e.g. carried by a share link). URL-safe text.
 */
export function encodeSessionToken(records: ReadonlyMap<string, SessionRecord>): string {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, records.size);
  for (const [docName, record] of records) {
    encoding.writeVarString(encoder, docName);
    writeRecord(encoder, record);
  }
  return TOKEN_PREFIX + toBase64UrlEncoded(encoding.toUint8Array(encoder));
}

/** Reads a session token; throws `SessionRecordError` for anything else. */
export function decodeSessionToken(token: string): Map<string, SessionRecord> {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) {
    throw new SessionRecordError(`not a session token (expected the prefix "${TOKEN_PREFIX}")`);
  }
  const body = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new SessionRecordError('not base64url');
  return decodeWhole(fromBase64UrlEncoded(body), (decoder) => {
    const records = new Map<string, SessionRecord>();
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const docName = decoding.readVarString(decoder);
      if (!isValidDocName(docName)) {
        throw new SessionRecordError(`invalid doc name ${JSON.stringify(docName)}`);
      }
      const record = readRecord(decoder);
      const seen = records.get(docName);
      if (seen === undefined) records.set(docName, record);
      else mergeRecordInto(seen, record);
    }
    return records;
  });
}
