import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

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
 * Summary of the state held by one (merged) update, in one pass over it
 * (`encodeStateVectorFromUpdate` plus a diff for the delete set took two);
 * throws on a malformed update.
 */
export function summaryOfUpdate(update: Uint8Array): DocSummary {
  const { structs, ds } = Y.decodeUpdate(update);
  // As `Y.encodeStateVectorFromUpdate`: per client, the clock up to the first gap
  // (a client's structs must start at 0, a Skip stops the count).
  const vector = new Map<number, number>();
  let client = -1;
  let clock = 0;
  let counting = false;
  for (const struct of structs) {
    if (struct.id.client !== client) {
      if (clock > 0) vector.set(client, clock);
      client = struct.id.client;
      clock = 0;
      counting = struct.id.clock === 0;
    }
    if (struct instanceof Y.Skip) counting = false;
    if (counting) clock = struct.id.clock + struct.length;
  }
  if (clock > 0) vector.set(client, clock);
  const ranges: DeleteRanges = new Map();
  for (const [id, items] of ds.clients) {
    ranges.set(
      id,
      items.map(({ clock, len }) => ({ clock, len })),
    );
  }
  return { stateVector: Y.encodeStateVector(vector), vector, deletes: normalize(ranges) };
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

export function encodeSummary(summary: DocSummary): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint8Array(encoder, summary.stateVector);
  encoding.writeVarUint(encoder, summary.deletes.size);
  for (const [client, ranges] of summary.deletes) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, ranges.length);
    for (const { clock, len } of ranges) {
      encoding.writeVarUint(encoder, clock);
      encoding.writeVarUint(encoder, len);
    }
  }
  return encoding.toUint8Array(encoder);
}

/** Decodes a stored summary; `null` for one this version cannot read (then the doc is read instead). */
export function decodeSummary(bytes: Uint8Array): DocSummary | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    if (decoding.readVarUint(decoder) !== 1) return null;
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
