import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import { DIGEST_BUCKETS, type DigestDocEntry, FINGERPRINT_BYTES } from '../protocol.ts';
import {
  decodeSv,
  EMPTY_FINGERPRINT,
  fingerprintOf,
  hash64,
  hashString,
  type StateVectorMap,
  sameBytes,
} from './fingerprint.ts';

/** Storage meta key of a doc's fingerprint record (fingerprint ‖ encoded state vector). */
export function fingerprintKey(docName: string): string {
  return `fp:${docName}`;
}

/**
 * Storage meta key written by a relay's clean shutdown, once every
 * fingerprint record it owed is written. Records are written after the
 * commits they describe, so after a crash one may be older than its doc's
 * log: trusted, it would advertise the old state and anti-entropy would
 * never ask for what that relay acked last (the simulation found this).
 */
export const CLEAN_SHUTDOWN_KEY = 'relay:clean-shutdown';

/** Writes the clean-shutdown marker: call last, once every owed record is written. */
export function markCleanShutdown(storage: StorageAdapter): Promise<void> {
  // Its presence is what counts.
  return storage.setMeta(CLEAN_SHUTDOWN_KEY, Uint8Array.of(1));
}

/**
 * Whether the last run shut down cleanly; removes the marker, durably, so a
 * crash of this run reads as one. Nothing may be appended before it resolves.
 */
export async function takeCleanShutdown(storage: StorageAdapter): Promise<boolean> {
  const marker = await storage.getMeta(CLEAN_SHUTDOWN_KEY);
  if (marker === undefined) return false;
  await storage.setMeta(CLEAN_SHUTDOWN_KEY, undefined);
  return true;
}

/** What the index knows about one stored doc. */
export interface IndexedDoc {
  fingerprint: Uint8Array;
  /** Durable state vector, encoded. */
  stateVector: Uint8Array;
  /** The same, decoded (for lag sums). */
  sv: StateVectorMap;
}

const utf8 = new TextEncoder();

/** Bucket of a doc name in the digest's hash tree. */
export function bucketOf(docName: string): number {
  return hashString(docName, 0x5eed)[0]! % DIGEST_BUCKETS;
}

/**
 * Every doc a relay has durably stored (loaded or not) with its fingerprint,
 * and the digest over them: `DIGEST_BUCKETS` bucket hashes, each the XOR of
 * `hash(name ‖ fingerprint)` of its docs, so one doc's change updates its
 * bucket in O(1) and the digest is ~2 KB however many docs and however long
 * their histories. Docs with no content are left out (they equal "absent").
 */
export class DigestIndex {
  readonly #docs = new Map<string, IndexedDoc>();
  readonly #byBucket: Set<string>[] = Array.from({ length: DIGEST_BUCKETS }, () => new Set());
  /** Bucket hashes, `FINGERPRINT_BYTES` each. */
  readonly #buckets = new Uint8Array(DIGEST_BUCKETS * FINGERPRINT_BYTES);

  get size(): number {
    return this.#docs.size;
  }

  get(docName: string): IndexedDoc | undefined {
    return this.#docs.get(docName);
  }

  has(docName: string): boolean {
    return this.#docs.has(docName);
  }

  entries(): IterableIterator<[string, IndexedDoc]> {
    return this.#docs.entries();
  }

  /** Records the durable state of `docName`; returns false when nothing changed. */
  set(docName: string, fingerprint: Uint8Array, stateVector: Uint8Array): boolean {
    const old = this.#docs.get(docName);
    if (old !== undefined && sameBytes(old.fingerprint, fingerprint)) {
      old.stateVector = stateVector;
      old.sv = decodeSv(stateVector);
      return false;
    }
    const bucket = bucketOf(docName);
    if (old !== undefined) this.#toggle(bucket, docName, old.fingerprint);
    if (sameBytes(fingerprint, EMPTY_FINGERPRINT)) {
      this.#docs.delete(docName);
      this.#byBucket[bucket]!.delete(docName);
      return old !== undefined;
    }
    this.#toggle(bucket, docName, fingerprint);
    this.#docs.set(docName, { fingerprint, stateVector, sv: decodeSv(stateVector) });
    this.#byBucket[bucket]!.add(docName);
    return true;
  }

  /** XORs the entry hash of (docName, fingerprint) into its bucket (adds or removes it). */
  #toggle(bucket: number, docName: string, fingerprint: Uint8Array): void {
    const name = utf8.encode(docName);
    const input = new Uint8Array(name.length + 1 + FINGERPRINT_BYTES);
    input.set(name, 0);
    input.set(fingerprint, name.length + 1);
    const h = hash64(input);
    const at = bucket * FINGERPRINT_BYTES;
    for (let i = 0; i < FINGERPRINT_BYTES; i++) this.#buckets[at + i]! ^= h[i]!;
  }

  /** The digest to send: a copy of the bucket hashes. */
  digest(): Uint8Array {
    return this.#buckets.slice();
  }

  /** Buckets whose hash differs from the peer's digest, ascending. */
  differingBuckets(peerDigest: Uint8Array): number[] {
    const out: number[] = [];
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      const at = b * FINGERPRINT_BYTES;
      for (let i = 0; i < FINGERPRINT_BYTES; i++) {
        if (this.#buckets[at + i] !== peerDigest[at + i]) {
          out.push(b);
          break;
        }
      }
    }
    return out;
  }

  /** Doc names in `bucket`. */
  namesIn(bucket: number): ReadonlySet<string> {
    return this.#byBucket[bucket] ?? new Set();
  }

  /** The entries of every doc in `buckets`, for a `DigestDocs` frame. */
  entriesIn(buckets: readonly number[]): DigestDocEntry[] {
    const out: DigestDocEntry[] = [];
    for (const b of buckets) {
      for (const docName of this.namesIn(b)) {
        const doc = this.#docs.get(docName)!;
        out.push({ docName, fingerprint: doc.fingerprint, stateVector: doc.stateVector });
      }
    }
    return out;
  }

  /**
   * Fills the index from storage: every stored doc's `fp:` record, rebuilt
   * (and written back) from its updates when missing or unreadable, or for
   * every doc when the last run did not shut down cleanly (`clean` false:
   * a record may be older than its log). Docs the index already holds (a
   * commit raced the load) keep their newer value.
   */
  async load(storage: StorageAdapter, clean: boolean): Promise<{ docs: number; rebuilt: number }> {
    const names = await storage.list('');
    let rebuilt = 0;
    for (const docName of names) {
      if (this.#docs.has(docName)) continue;
      const record = clean ? await storage.getMeta(fingerprintKey(docName)) : undefined;
      const parsed = record === undefined ? undefined : parseRecord(record);
      if (parsed !== undefined) {
        if (!this.#docs.has(docName)) this.set(docName, parsed.fingerprint, parsed.stateVector);
        continue;
      }
      const stored = await storage.load(docName);
      const doc = new Y.Doc();
      try {
        doc.transact(() => {
          for (const u of stored.updates) Y.applyUpdate(doc, u);
        });
        const fingerprint = fingerprintOf(doc);
        const stateVector = Y.encodeStateVector(doc);
        if (!this.#docs.has(docName)) this.set(docName, fingerprint, stateVector);
        await storage.setMeta(fingerprintKey(docName), encodeRecord(fingerprint, stateVector));
        rebuilt++;
      } finally {
        doc.destroy();
      }
    }
    return { docs: names.length, rebuilt };
  }
}

/** Storage form of a fingerprint record. */
export function encodeRecord(fingerprint: Uint8Array, stateVector: Uint8Array): Uint8Array {
  const out = new Uint8Array(FINGERPRINT_BYTES + stateVector.length);
  out.set(fingerprint, 0);
  out.set(stateVector, FINGERPRINT_BYTES);
  return out;
}

function parseRecord(
  record: Uint8Array,
): { fingerprint: Uint8Array; stateVector: Uint8Array } | undefined {
  if (record.length <= FINGERPRINT_BYTES) return undefined;
  const stateVector = record.slice(FINGERPRINT_BYTES);
  try {
    decodeSv(stateVector);
  } catch {
    return undefined;
  }
  return { fingerprint: record.slice(0, FINGERPRINT_BYTES), stateVector };
}
