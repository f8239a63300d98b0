import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import {
  CLEAN_SHUTDOWN_KEY,
  DigestIndex,
  encodeRecord,
  fingerprintKey,
  markCleanShutdown,
  takeCleanShutdown,
} from './DigestIndex.ts';
import { fingerprintOf, sameBytes } from './fingerprint.ts';
import { RelayCore } from './RelayCore.ts';

/** A doc log of two updates, and the fingerprint record of the first one only (written before the second commit). */
async function staleRecord(storage: MemoryStorage, docName: string) {
  const doc = new Y.Doc();
  doc.getText('body').insert(0, 'first');
  const first = Y.encodeStateAsUpdate(doc);
  const staleFp = fingerprintOf(doc);
  const staleSv = Y.encodeStateVector(doc);
  const before = Y.encodeStateVector(doc);
  doc.getText('body').insert(5, ' second');
  await storage.append(docName, [first, Y.encodeStateAsUpdate(doc, before)]);
  await storage.setMeta(fingerprintKey(docName), encodeRecord(staleFp, staleSv));
  return { full: Y.encodeStateVector(doc), stale: staleSv };
}

describe('DigestIndex after a crash (fingerprint records written after their commits)', () => {
  it('rebuilds every record when the last run did not shut down cleanly', async () => {
    const storage = new MemoryStorage();
    const { full } = await staleRecord(storage, 'w/doc');
    const index = new DigestIndex();
    const clean = await takeCleanShutdown(storage);
    expect(clean).toBe(false);
    expect(await index.load(storage, clean)).toEqual({ docs: 1, rebuilt: 1 });
    expect(index.get('w/doc')?.stateVector).toEqual(full);
  });

  it('trusts the records after a clean shutdown, and removes the marker so a crash of this run reads as one', async () => {
    const storage = new MemoryStorage();
    const { stale } = await staleRecord(storage, 'w/doc');
    await markCleanShutdown(storage);
    const clean = await takeCleanShutdown(storage);
    expect(clean).toBe(true);
    expect(await storage.getMeta(CLEAN_SHUTDOWN_KEY)).toBeUndefined();
    const index = new DigestIndex();
    expect(await index.load(storage, clean)).toEqual({ docs: 1, rebuilt: 0 });
    // (A record a clean shutdown vouched for; this one is stale only by construction.)
    expect(index.get('w/doc')?.stateVector).toEqual(stale);
  });

  it('a relay marks its clean shutdown, and a crashed one advertises what its log holds', async () => {
    const storage = new MemoryStorage();
    const { full } = await staleRecord(storage, 'w/doc');
    const crashed = new RelayCore({ storage, relayId: 'r1', commitWindowMs: 1 });
    const digestAfterCrash = await eventuallyDigest(crashed);
    await crashed.close();
    expect(await storage.getMeta(CLEAN_SHUTDOWN_KEY)).toEqual(Uint8Array.of(1));

    // The same log, indexed from scratch: what the crashed relay's digest must have been.
    const reference = new MemoryStorage();
    await reference.append('w/doc', (await storage.load('w/doc')).updates);
    const fresh = new RelayCore({ storage: reference, relayId: 'r2', commitWindowMs: 1 });
    expect(digestAfterCrash).toEqual(await eventuallyDigest(fresh));
    await fresh.close();

    // After the clean shutdown the rewritten record is current and trusted.
    const again = new RelayCore({ storage, relayId: 'r1', commitWindowMs: 1 });
    expect(await eventuallyDigest(again)).toEqual(digestAfterCrash);
    expect(await storage.getMeta(CLEAN_SHUTDOWN_KEY)).toBeUndefined();
    expect(again.digest()).not.toEqual(new DigestIndex().digest());
    await again.close();
    expect(full.length).toBeGreaterThan(1);
  });
});

/** The relay's digest once its index has loaded (an empty index has an all-empty digest). */
async function eventuallyDigest(core: RelayCore): Promise<Uint8Array> {
  const empty = new DigestIndex().digest();
  const deadline = performance.now() + 2000;
  for (;;) {
    const digest = core.digest();
    if (!sameBytes(digest, empty)) return digest;
    if (performance.now() > deadline) throw new Error('index never loaded');
    await new Promise((r) => setTimeout(r, 2));
  }
}
