import * as Y from 'yjs';
import { FINGERPRINT_BYTES } from '../protocol.ts';

const utf8 = new TextEncoder();

/**
 * 64-bit non-cryptographic hash (two 32-bit multiply-xorshift lanes, as in
 * cyrb53, keeping all 64 bits). Anti-entropy only needs "equal content, equal
 * hash; different content, almost surely different hash" between cooperating
 * relays; it runs in the browser-free core, so no Node `crypto`.
 */
export function hash64(bytes: Uint8Array, seed = 0): Uint8Array {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const out = new Uint8Array(FINGERPRINT_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, h2 >>> 0);
  view.setUint32(4, h1 >>> 0);
  return out;
}

/** 64-bit hash of a UTF-8 string. */
export function hashString(text: string, seed = 0): Uint8Array {
  return hash64(utf8.encode(text), seed);
}

/**
 * A doc's fingerprint: the hash of its Yjs snapshot, i.e. state vector AND
 * delete set — two replicas that differ only by a deletion (which advances no
 * state vector) get different fingerprints. Yjs encodes both canonically
 * (clients sorted, adjacent deleted ranges merged), so equal content hashes
 * equally on every relay.
 */
export function fingerprintOf(doc: Y.Doc): Uint8Array {
  return hash64(Y.encodeSnapshot(Y.snapshot(doc)));
}

/** Fingerprint of a doc with no content; such docs are left out of digests. */
export const EMPTY_FINGERPRINT: Uint8Array = fingerprintOf(new Y.Doc());

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A decoded state vector: client id → number of operations. */
export type StateVectorMap = Map<number, number>;

/** Decodes an encoded state vector; throws on malformed input. */
export function decodeSv(encoded: Uint8Array): StateVectorMap {
  return Y.decodeStateVector(encoded);
}

/** Operations in `have` that `known` lacks (per client, never negative). */
export function opsAhead(have: StateVectorMap, known: StateVectorMap | undefined): number {
  let ops = 0;
  for (const [client, clock] of have) {
    const k = known?.get(client) ?? 0;
    if (clock > k) ops += clock - k;
  }
  return ops;
}

/** Merges `from` into `into` by max per client. */
export function mergeSv(into: StateVectorMap, from: StateVectorMap): void {
  for (const [client, clock] of from) {
    if (clock > (into.get(client) ?? 0)) into.set(client, clock);
  }
}
