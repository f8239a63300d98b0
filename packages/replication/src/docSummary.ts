import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { putVarBytes, putVarUint, varBytesSize, varUintSize } from './sizedEncoding.ts';

/** First varuint of an encoded summary: its layout's version. */
const SUMMARY_FORMAT = 1;

/** Deleted ranges per client, sorted by clock, overlapping and adjacent ranges merged. */
export type DeleteRanges = Map<number, Array<{ clock: number; len: number }>>;

/**
 * What a doc's stored state holds, without its content: its state vector and
 * delete set. Kept by storage next to the log (`StorageAdapter.putSummary`),
 * so a returning replica announces its state and recognises a relay reply
 * that adds nothing without reading or merging any doc (bench `coldload`).
 */
export interface DocSummary {
  /** Encoded state vector, as sent in `SyncStep1`. */
  readonly stateVector: Uint8Array;
  readonly vector: Map<number, number>;
  readonly deletes: DeleteRanges;
}

export const EMPTY_SUMMARY: DocSummary = Object.freeze({
  stateVector: Y.encodeStateVector(new Y.Doc()),
  vector: new Map<number, number>(),
  deletes: new Map(),
});

/**
 * Summary of the state held by one (merged) V1 update, in one pass over its
 * bytes; throws on an update `Y.decodeUpdate` would refuse. Structs are
 * skipped, not built: a fresh device summarises every doc the relay sends,
 * and `Y.decodeUpdate` (an `Item` and a decoded string per struct) was 15 %
 * of a fresh load's page time (bench/README.md, "Cold load", sixth round).
 */
export function summaryOfUpdate(update: Uint8Array): DocSummary {
  const decoder = decoding.createDecoder(update);
  // As `Y.encodeStateVectorFromUpdate`: per client, the clock up to the first gap
  // (a client's structs must start at 0, a Skip stops the count). A client's
  // blocks are compared with the previous block's client, as the structs were.
  const vector = new Map<number, number>();
  let client = -1;
  let clock = 0;
  let counting = false;
  const blocks = decoding.readVarUint(decoder);
  for (let b = 0; b < blocks; b++) {
    const structs = decoding.readVarUint(decoder);
    const blockClient = decoding.readVarUint(decoder);
    let at = decoding.readVarUint(decoder);
    for (let i = 0; i < structs; i++) {
      if (blockClient !== client) {
        if (clock > 0) vector.set(client, clock);
        client = blockClient;
        clock = 0;
        counting = at === 0;
      }
      const info = readInfo(decoder);
      let length: number;
      if (info === 10) {
        length = decoding.readVarUint(decoder);
        counting = false;
      } else if ((info & 31) === 0) length = decoding.readVarUint(decoder);
      else length = skipItem(decoder, info);
      if (counting) clock = at + length;
      at += length;
    }
  }
  if (clock > 0) vector.set(client, clock);
  const ranges: DeleteRanges = new Map();
  const deleters = decoding.readVarUint(decoder);
  for (let c = 0; c < deleters; c++) {
    const id = decoding.readVarUint(decoder);
    const count = decoding.readVarUint(decoder);
    if (count === 0) continue;
    let list = ranges.get(id);
    if (list === undefined) {
      list = [];
      ranges.set(id, list);
    }
    for (let r = 0; r < count; r++) {
      list.push({ clock: decoding.readVarUint(decoder), len: decoding.readVarUint(decoder) });
    }
  }
  return { stateVector: Y.encodeStateVector(vector), vector, deletes: normalize(ranges) };
}

function readInfo(decoder: decoding.Decoder): number {
  if (decoder.pos >= decoder.arr.length) throw new RangeError('unexpected end of update');
  return decoding.readUint8(decoder);
}

/**
 * Skips one Item's fields as Yjs's V1 struct reader reads them; returns its
 * length (clock units). Strings are the bulk: an ASCII one is skipped by its
 * byte count, any other is decoded as Yjs decodes it (its UTF-16 length;
 * invalid UTF-8 is refused, as lib0's fatal decoder refuses it).
 */
function skipItem(decoder: decoding.Decoder, info: number): number {
  if ((info & 0x80) !== 0) skipId(decoder);
  if ((info & 0x40) !== 0) skipId(decoder);
  if ((info & 0xc0) === 0) {
    if (decoding.readVarUint(decoder) === 1) skipString(decoder);
    else skipId(decoder);
    if ((info & 0x20) !== 0) skipString(decoder);
  }
  switch (info & 31) {
    case 1: // deleted
      return decoding.readVarUint(decoder);
    case 2: {
      // JSON
      const len = decoding.readVarUint(decoder);
      for (let i = 0; i < len; i++) {
        const json = decoding.readVarString(decoder);
        if (json !== 'undefined') JSON.parse(json);
      }
      return len;
    }
    case 3: // binary
      decoding.readVarUint8Array(decoder);
      return 1;
    case 4: // string
      return skipString(decoder);
    case 5: // embed
      JSON.parse(decoding.readVarString(decoder));
      return 1;
    case 6: // format
      decoding.readVarString(decoder);
      JSON.parse(decoding.readVarString(decoder));
      return 1;
    case 7: {
      // type: Y.XmlElement and Y.XmlHook carry a name
      const ref = decoding.readVarUint(decoder);
      if (ref > 6) throw new RangeError(`unknown type ref ${ref}`);
      if (ref === 3 || ref === 5) decoding.readVarString(decoder);
      return 1;
    }
    case 8: {
      // any
      const len = decoding.readVarUint(decoder);
      for (let i = 0; i < len; i++) decoding.readAny(decoder);
      return len;
    }
    case 9: // subdoc: guid and options
      decoding.readVarString(decoder);
      decoding.readAny(decoder);
      return 1;
    default:
      throw new RangeError(`unknown content ref ${info & 31}`);
  }
}

function skipId(decoder: decoding.Decoder): void {
  decoding.readVarUint(decoder);
  decoding.readVarUint(decoder);
}

/** Skips a var-string; returns its UTF-16 length (a Y.Text item's clock length). */
function skipString(decoder: decoding.Decoder): number {
  const before = decoder.pos;
  const size = decoding.readVarUint(decoder);
  const start = decoder.pos;
  const end = start + size;
  if (end > decoder.arr.length) throw new RangeError('unexpected end of update');
  const bytes = decoder.arr;
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) > 0x7f) {
      decoder.pos = before;
      return decoding.readVarString(decoder).length;
    }
  }
  decoder.pos = end;
  return size;
}

/** The delete set an update carries (decodes its structs too: use on small updates). */
export function deletesOf(update: Uint8Array): DeleteRanges {
  const ranges: DeleteRanges = new Map();
  for (const [client, items] of Y.decodeUpdate(update).ds.clients) {
    ranges.set(
      client,
      items.map(({ clock, len }) => ({ clock, len })),
    );
  }
  return normalize(ranges);
}

/** The summary after an update without structs (deletions only) was stored. */
export function withDeletes(summary: DocSummary, deletes: DeleteRanges): DocSummary {
  const merged: DeleteRanges = new Map();
  for (const source of [summary.deletes, deletes]) {
    for (const [client, ranges] of source) {
      const into = merged.get(client);
      if (into) into.push(...ranges);
      else merged.set(client, [...ranges]);
    }
  }
  return { stateVector: summary.stateVector, vector: summary.vector, deletes: normalize(merged) };
}

/** Does `outer` delete every id `inner` deletes? */
export function deletesCover(outer: DeleteRanges, inner: DeleteRanges): boolean {
  for (const [client, ranges] of inner) {
    const have = outer.get(client) ?? [];
    let i = 0;
    for (const { clock, len } of ranges) {
      // Both sorted and merged: one covering range or none.
      let range = have[i];
      while (range !== undefined && range.clock + range.len <= clock) range = have[++i];
      if (range === undefined || range.clock > clock || range.clock + range.len < clock + len) {
        return false;
      }
    }
  }
  return true;
}

/** Does `outer` hold every clock of `inner`? */
export function vectorCovers(outer: Map<number, number>, inner: Map<number, number>): boolean {
  for (const [client, clock] of inner) if ((outer.get(client) ?? 0) < clock) return false;
  return true;
}

export function isEmptySummary(summary: DocSummary): boolean {
  return summary.vector.size === 0 && summary.deletes.size === 0;
}

/** Encodes a summary in one buffer of its exact size (a fresh device encodes one per note). */
export function encodeSummary(summary: DocSummary): Uint8Array {
  let size =
    varUintSize(SUMMARY_FORMAT) +
    varBytesSize(summary.stateVector) +
    varUintSize(summary.deletes.size);
  for (const [client, ranges] of summary.deletes) {
    size += varUintSize(client) + varUintSize(ranges.length);
    for (const { clock, len } of ranges) size += varUintSize(clock) + varUintSize(len);
  }
  const out = new Uint8Array(size);
  let pos = putVarUint(out, 0, SUMMARY_FORMAT);
  pos = putVarBytes(out, pos, summary.stateVector);
  pos = putVarUint(out, pos, summary.deletes.size);
  for (const [client, ranges] of summary.deletes) {
    pos = putVarUint(out, pos, client);
    pos = putVarUint(out, pos, ranges.length);
    for (const { clock, len } of ranges) {
      pos = putVarUint(out, pos, clock);
      pos = putVarUint(out, pos, len);
    }
  }
  return out;
}

/** Decodes a stored summary; `null` for one this version cannot read (then the doc is read instead). */
export function decodeSummary(bytes: Uint8Array): DocSummary | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    if (decoding.readVarUint(decoder) !== SUMMARY_FORMAT) return null;
    const stateVector = decoding.readVarUint8Array(decoder);
    const vector = Y.decodeStateVector(stateVector);
    const deletes: DeleteRanges = new Map();
    const clients = decoding.readVarUint(decoder);
    for (let c = 0; c < clients; c++) {
      const client = decoding.readVarUint(decoder);
      const count = decoding.readVarUint(decoder);
      const ranges: Array<{ clock: number; len: number }> = [];
      for (let r = 0; r < count; r++) {
        ranges.push({ clock: decoding.readVarUint(decoder), len: decoding.readVarUint(decoder) });
      }
      deletes.set(client, ranges);
    }
    if (decoding.hasContent(decoder)) return null;
    return { stateVector, vector, deletes: normalize(deletes) };
  } catch {
    return null;
  }
}

function normalize(ranges: DeleteRanges): DeleteRanges {
  const out: DeleteRanges = new Map();
  for (const [client, list] of ranges) {
    // Yjs writes delete sets sorted and merged: a fresh device's 1,000 note
    // summaries re-sorted and copied every range (bench `coldload`).
    if (isNormal(list)) {
      out.set(client, list);
      continue;
    }
    const sorted = list.filter((r) => r.len > 0).sort((a, b) => a.clock - b.clock);
    const merged: Array<{ clock: number; len: number }> = [];
    for (const range of sorted) {
      const last = merged.at(-1);
      if (last !== undefined && range.clock <= last.clock + last.len) {
        last.len = Math.max(last.len, range.clock + range.len - last.clock);
      } else {
        merged.push({ clock: range.clock, len: range.len });
      }
    }
    if (merged.length > 0) out.set(client, merged);
  }
  return out;
}

/** Non-empty, every range non-empty, sorted by clock, none overlapping or touching the next. */
function isNormal(list: ReadonlyArray<{ clock: number; len: number }>): boolean {
  if (list.length === 0) return false;
  let end = -1;
  for (const { clock, len } of list) {
    if (len <= 0 || clock <= end) return false;
    end = clock + len;
  }
  return true;
}
