import * as Y from 'yjs';
import type { StorageAdapter } from '../../ports.ts';

/** A state vector as a map: client id → number of its structs seen. */
export type StateVectorMap = Map<number, number>;
/** Yjs's delete set (its class is not exported by name). */
export type DeleteSet = ReturnType<typeof Y.createDeleteSet>;

/** One replica's state of one doc, rebuilt from what its storage holds. */
export interface DocState {
  /** A fresh doc holding the state (read it; the caller may destroy it). */
  doc: Y.Doc;
  stateVector: StateVectorMap;
  deleteSet: DeleteSet;
  /** Structs or deletions waiting for updates that never arrived. */
  pending: boolean;
  /**
   * What the pending parts wait for: per client, the first clock missing
   * (for held-back structs and for deletions of structs not yet seen).
   */
  missing: StateVectorMap;
}

/** Rebuilds `docName` from the updates `storage` holds (an empty doc when unknown). */
export async function readStoredDoc(storage: StorageAdapter, docName: string): Promise<DocState> {
  const { updates } = await storage.load(docName);
  return docStateOf(updates);
}

/** A `DocState` from raw updates, applied one by one so nothing is merged away. */
export function docStateOf(updates: readonly Uint8Array[]): DocState {
  // A fixed guid spares a random uuid per throwaway doc (a hot path in checks).
  const doc = new Y.Doc({ guid: 'sim:stored' });
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update);
  });
  return describeDoc(doc);
}

/** The state vector, delete set and pending flag of a live doc. */
export function describeDoc(doc: Y.Doc): DocState {
  const stateVector = Y.decodeStateVector(Y.encodeStateVector(doc));
  const { pendingStructs, pendingDs } = doc.store;
  const missing: StateVectorMap = new Map(pendingStructs?.missing ?? []);
  if (pendingDs !== null) {
    for (const client of Y.decodeUpdate(pendingDs).ds.clients.keys()) {
      const have = stateVector.get(client) ?? 0;
      if ((missing.get(client) ?? Number.POSITIVE_INFINITY) > have) missing.set(client, have);
    }
  }
  return {
    doc,
    stateVector,
    deleteSet: Y.createDeleteSetFromStructStore(doc.store),
    pending: pendingStructs !== null || pendingDs !== null,
    missing,
  };
}

/** Same structs and same deletions (so the same content, however the items are split). */
export function sameState(a: DocState, b: DocState): boolean {
  return sameVector(a.stateVector, b.stateVector) && Y.equalDeleteSets(a.deleteSet, b.deleteSet);
}

export function sameVector(a: StateVectorMap, b: StateVectorMap): boolean {
  const nonZero = (v: StateVectorMap) => [...v].filter(([, clock]) => clock > 0);
  const x = nonZero(a);
  const y = nonZero(b);
  return x.length === y.length && x.every(([client, clock]) => b.get(client) === clock);
}

/** Clients whose clock in `needed` exceeds the one in `have`, as `client:have<needed`. */
export function missingFrom(have: StateVectorMap, needed: StateVectorMap): string[] {
  const missing: string[] = [];
  for (const [client, clock] of needed) {
    const got = have.get(client) ?? 0;
    if (got < clock) missing.push(`${client}:${got}<${clock}`);
  }
  return missing;
}

/** Deletions in `needed` that `have` lacks, as `client:clock+len`. */
export function missingDeletions(have: DeleteSet, needed: DeleteSet): string[] {
  const missing: string[] = [];
  for (const [client, items] of needed.clients) {
    for (const item of items) {
      if (!rangeDeleted(have, client, item.clock, item.len)) {
        missing.push(`${client}:${item.clock}+${item.len}`);
      }
    }
  }
  return missing;
}

/** Is every clock of `client` in [clock, clock + len) deleted in `ds`? */
export function rangeDeleted(ds: DeleteSet, client: number, clock: number, len: number): boolean {
  const items = ds.clients.get(client);
  if (items === undefined) return false;
  let next = clock;
  const end = clock + len;
  // Ranges may be unsorted and adjacent in a decoded delete set: sweep in clock order.
  for (const item of [...items].sort((a, b) => a.clock - b.clock)) {
    if (item.clock > next) break;
    next = Math.max(next, item.clock + item.len);
    if (next >= end) return true;
  }
  return next >= end;
}

/** `a` with every clock raised to at least `b`'s (in place). */
export function mergeVectorInto(a: StateVectorMap, b: StateVectorMap): void {
  for (const [client, clock] of b) if ((a.get(client) ?? 0) < clock) a.set(client, clock);
}

/** Short form for messages: `{client:clock, …}` sorted by client. */
export function formatVector(v: StateVectorMap): string {
  const parts = [...v]
    .filter(([, clock]) => clock > 0)
    .sort((x, y) => x[0] - y[0])
    .map(([client, clock]) => `${client}:${clock}`);
  return `{${parts.join(', ')}}`;
}
