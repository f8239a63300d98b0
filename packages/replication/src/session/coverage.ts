import * as Y from 'yjs';
import type { SessionWarning } from '../replicationInfo.ts';
import {
  type DeleteSet,
  requiredStateMap,
  type SessionRecord,
  type StateMap,
  sessionClients,
} from './sessionRecord.ts';

/** One of the four session guarantees of Terry et al. */
export type SessionGuarantee = SessionWarning['guarantee'];

/** A replica's state as the checks see it. */
export interface ReplicaState {
  sv: StateMap;
  /** The replica's delete set; computed only when a check needs it (a pass over the doc). */
  ds(): DeleteSet;
}

/** The state of a live doc (integrated structs only: pending ones are not shown). */
export function stateOfDoc(doc: Y.Doc): ReplicaState {
  let ds: DeleteSet | undefined;
  return {
    sv: Y.decodeStateVector(Y.encodeStateVector(doc)),
    ds: () => {
      ds ??= Y.createDeleteSetFromStructStore(doc.store);
      return ds;
    },
  };
}

export function svCovers(have: StateMap, need: StateMap): boolean {
  for (const [client, clock] of need) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

function isEmptyDs(ds: DeleteSet): boolean {
  for (const items of ds.clients.values()) if (items.some((item) => item.len > 0)) return false;
  return true;
}

/** Whether every item deleted in `need` is deleted in `have`. */
export function dsCovers(have: DeleteSet, need: DeleteSet): boolean {
  if (isEmptyDs(need)) return true;
  return Y.equalDeleteSets(Y.mergeDeleteSets([have]), Y.mergeDeleteSets([have, need]));
}

/** Whether some item is deleted in both. */
export function dsIntersects(a: DeleteSet, b: DeleteSet): boolean {
  const left = Y.mergeDeleteSets([a]);
  const right = Y.mergeDeleteSets([b]);
  for (const [client, xs] of left.clients) {
    const ys = right.clients.get(client);
    if (ys === undefined) continue;
    // Both lists are sorted and merged: walk them together.
    let i = 0;
    let j = 0;
    while (i < xs.length && j < ys.length) {
      const x = xs[i]!;
      const y = ys[j]!;
      if (x.clock < y.clock + y.len && y.clock < x.clock + x.len) return true;
      if (x.clock + x.len <= y.clock + y.len) i++;
      else j++;
    }
  }
  return false;
}

/** Whether `replica` holds everything `record` requires: the one condition for "current". */
export function coversRecord(record: SessionRecord, replica: ReplicaState): boolean {
  if (!svCovers(replica.sv, requiredStateMap(record))) return false;
  const needDs = Y.mergeDeleteSets([record.read.ds, ...record.writes.map((g) => g.deleted)]);
  return isEmptyDs(needDs) || dsCovers(replica.ds(), needDs);
}

/**
 * Which guarantees presenting `replica` as current would break (empty exactly
 * when `coversRecord` holds). With the session's writes as groups:
 * - read-your-writes: a write of the session is (partly) missing;
 * - monotonic-reads: something the session was shown is missing;
 * - writes-follow-reads: a write is (partly) there but not state it was made against;
 * - monotonic-writes: a write is (partly) there but not an earlier write of the session.
 */
export function violations(record: SessionRecord, replica: ReplicaState): SessionGuarantee[] {
  const found = new Set<SessionGuarantee>();
  const clients = sessionClients(record);
  const lacks = (client: number, clock: number) => (replica.sv.get(client) ?? 0) < clock;

  for (const [client, clock] of record.read.sv) {
    // Own writes that were read are reported as writes.
    if (!clients.has(client) && lacks(client, clock)) found.add('monotonic-reads');
  }
  if (!found.has('monotonic-reads') && !isEmptyDs(record.read.ds)) {
    const ownDeletes = record.writes.map((g) => g.deleted);
    const have = Y.mergeDeleteSets([replica.ds(), ...ownDeletes]);
    if (!dsCovers(have, record.read.ds)) found.add('monotonic-reads');
  }

  for (const group of record.writes) {
    let missing = false;
    let present = false;
    for (const [client, { from, to }] of group.ranges) {
      const have = replica.sv.get(client) ?? 0;
      if (have < to) missing = true;
      if (have > from) present = true;
    }
    if (!isEmptyDs(group.deleted)) {
      if (!missing && !dsCovers(replica.ds(), group.deleted)) missing = true;
      if (!present && dsIntersects(replica.ds(), group.deleted)) present = true;
    }
    if (missing) found.add('read-your-writes');
    if (!present) continue;
    for (const [client, clock] of group.deps) {
      if (lacks(client, clock)) {
        found.add(clients.has(client) ? 'monotonic-writes' : 'writes-follow-reads');
      }
    }
  }
  const order: SessionGuarantee[] = [
    'read-your-writes',
    'monotonic-reads',
    'writes-follow-reads',
    'monotonic-writes',
  ];
  return order.filter((g) => found.has(g));
}
