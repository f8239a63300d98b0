import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

/** Yjs' delete set, as `Transaction.deleteSet` and `createDeleteSetFromStructStore` return it. */
type DeleteSet = ReturnType<typeof Y.createDeleteSet>;

/**
 * The local transactions of one outgoing message: one client's contiguous
 * clock range plus what those transactions deleted. Tracked so the message
 * can be encoded from the live doc (whose adjacent keystrokes Yjs has merged
 * into runs) instead of `Y.mergeUpdates` over every keystroke's update, which
 * keeps each keystroke its own item: in the automerge-paper replay that merge
 * was a fifth of the client CPU and made the upload 7× the download.
 */
export interface LocalBatch {
  readonly doc: Y.Doc;
  fromClock: number;
  toClock: number;
  deleteSets: DeleteSet[];
  /** A transaction did not fit (another client's structs, a gap in the clock range): use the updates. */
  mixed: boolean;
}

export function startLocalBatch(doc: Y.Doc, tr: Y.Transaction): LocalBatch {
  const batch: LocalBatch = {
    doc,
    fromClock: tr.beforeState.get(doc.clientID) ?? 0,
    toClock: tr.beforeState.get(doc.clientID) ?? 0,
    deleteSets: [],
    mixed: false,
  };
  addToLocalBatch(batch, tr);
  return batch;
}

export function addToLocalBatch(batch: LocalBatch, tr: Y.Transaction): void {
  if (batch.mixed) return;
  const own = batch.doc.clientID;
  if ((tr.beforeState.get(own) ?? 0) !== batch.toClock) {
    batch.mixed = true;
    return;
  }
  for (const [client, clock] of tr.afterState) {
    if (client !== own && clock !== (tr.beforeState.get(client) ?? 0)) {
      batch.mixed = true;
      return;
    }
  }
  batch.toClock = tr.afterState.get(own) ?? batch.toClock;
  if (tr.deleteSet.clients.size > 0) batch.deleteSets.push(tr.deleteSet);
}

/**
 * The batch as one V1 update, equivalent to merging its transactions'
 * updates, or `null` when it cannot be encoded from the doc (then the caller
 * merges the updates). Written as `Y.encodeStateAsUpdate` writes the clock
 * range (the same struct writer, so adjacent keystrokes are runs), followed
 * by the batch's own deletions. Only the range's structs are visited: asking
 * Yjs for the range also builds and encodes the doc's whole delete set, a
 * pass over every struct of the doc per message — in the seph-blog1 replay
 * that made encoding the tick's message a tenth of the client CPU.
 */
export function encodeLocalBatch(batch: LocalBatch): Uint8Array | null {
  const { doc, fromClock, toClock } = batch;
  if (batch.mixed || doc.store.pendingStructs !== null || doc.store.pendingDs !== null) return null;
  if (Y.getState(doc.store, doc.clientID) !== toClock) return null;
  const encoder = new Y.UpdateEncoderV1();
  const structs = doc.store.clients.get(doc.clientID);
  if (fromClock === toClock || structs === undefined) {
    encoding.writeVarUint(encoder.restEncoder, 0);
  } else {
    const start = structIndex(structs, fromClock);
    const first = structs[start];
    if (first === undefined) return null;
    encoding.writeVarUint(encoder.restEncoder, 1);
    encoding.writeVarUint(encoder.restEncoder, structs.length - start);
    encoder.writeClient(doc.clientID);
    encoding.writeVarUint(encoder.restEncoder, fromClock);
    first.write(encoder, fromClock - first.id.clock);
    for (let i = start + 1; i < structs.length; i++)
      (structs[i] as Y.Item | Y.GC).write(encoder, 0);
  }
  writeDeleteSet(encoder.restEncoder, Y.mergeDeleteSets(batch.deleteSets));
  return encoder.toUint8Array();
}

/** Index of the struct holding `clock` (the store's structs are sorted and contiguous). */
function structIndex(structs: ReadonlyArray<Y.Item | Y.GC>, clock: number): number {
  let lo = 0;
  let hi = structs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((structs[mid] as Y.Item | Y.GC).id.clock <= clock) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A delete set in the V1 update encoding (clients in descending order, as Yjs writes it). */
function writeDeleteSet(encoder: encoding.Encoder, ds: DeleteSet): void {
  encoding.writeVarUint(encoder, ds.clients.size);
  const clients = [...ds.clients.entries()].sort((a, b) => b[0] - a[0]);
  for (const [client, items] of clients) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, items.length);
    for (const item of items) {
      encoding.writeVarUint(encoder, item.clock);
      encoding.writeVarUint(encoder, item.len);
    }
  }
}

/**
 * What one storage append writes: `updates` with its local ones (`local`,
 * the updates of the transactions `batch` tracked) replaced by the batch's
 * encoding — the same state, so the same log once merged. The tick's
 * keystrokes are then one entry with Yjs' merged runs instead of one update
 * each: the replayed seph-blog1 trace stored 12× its state in keystroke
 * updates and compacted 91 times, re-encoding the whole doc each time.
 * Returns `updates` unchanged when the batch cannot be encoded.
 */
export function withLocalBatch(
  updates: Uint8Array[],
  local: readonly Uint8Array[],
  batch: LocalBatch | null,
): Uint8Array[] {
  if (batch === null || local.length < 2) return updates;
  const encoded = encodeLocalBatch(batch);
  if (encoded === null) return updates;
  const replaced = new Set(local);
  const out = updates.filter((update) => !replaced.has(update));
  out.push(encoded);
  return out;
}
