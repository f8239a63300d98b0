import * as Y from 'yjs';

/** A decoded Yjs state vector: client id → clock. */
export type StateMap = Map<number, number>;

/** An index entry's `deps` as written: the note doc's encoded state vector. */
export function encodeDeps(deps: StateMap): Uint8Array {
  return Y.encodeStateVector(deps);
}

/**
 * Reads a `deps` value written by any peer: `null` when absent or not a
 * state vector (an older or foreign writer), so the note is never held back
 * by data that cannot be understood.
 */
export function decodeDeps(value: unknown): StateMap | null {
  if (!(value instanceof Uint8Array)) return null;
  try {
    return Y.decodeStateVector(value);
  } catch {
    return null;
  }
}

/** Whether a replica at `have` holds everything up to `need`. */
export function covers(have: StateMap, need: StateMap): boolean {
  for (const [client, clock] of need) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

/** Per client, the larger clock. */
export function mergeDeps(a: StateMap, b: StateMap): StateMap {
  const out = new Map(a);
  for (const [client, clock] of b) if (clock > (out.get(client) ?? 0)) out.set(client, clock);
  return out;
}

export function stateMapOf(doc: Y.Doc): StateMap {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}
