import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DIGEST_BUCKETS, FINGERPRINT_BYTES } from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { GossipNet } from './testing/GossipNet.ts';
import { RawClient } from './testing/RawClient.ts';

let net: GossipNet | undefined;
afterEach(async () => {
  await net?.close();
  net = undefined;
});

async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Equal digests over a non-empty set of docs (an empty index matches any other empty one). */
const sameDigest = (x: Uint8Array, y: Uint8Array) =>
  x.some((v) => v !== 0) && x.every((v, i) => v === y[i]);

async function storedText(storage: MemoryStorage, docName: string): Promise<string> {
  const doc = new Y.Doc();
  for (const u of (await storage.load(docName)).updates) Y.applyUpdate(doc, u);
  return doc.getText('body').toString();
}

/** A doc's content with `edits` one-character inserts by one client. */
function docWithHistory(edits: number, seed: string): Uint8Array {
  const doc = new Y.Doc();
  const text = doc.getText('body');
  text.insert(0, seed);
  for (let i = 0; i < edits; i++)
    text.insert(i % (text.length + 1), String.fromCharCode(97 + (i % 26)));
  return Y.encodeStateAsUpdate(doc);
}

function anti(events: Array<Record<string, unknown>>): number[] {
  return events
    .filter((e) => e.event === 'peer.anti_entropy')
    .map((e) => e.differingDocs as number);
}

describe('gossip: anti-entropy', () => {
  it('relays that diverged while cut converge: delete-only change, a doc not loaded since start, one-sided docs', async () => {
    const g = new GossipNet();
    net = g;
    const storageA = new MemoryStorage();
    const a = g.relay('A', { storage: storageA });
    const b = g.relay('B');
    g.link('A', 'B');
    const onA = new RawClient(a.core, 'ca');
    onA.edit('w/shared', (d) => d.getText('body').insert(0, 'hello world'));
    onA.edit('w/cold', (d) => d.getText('body').insert(0, 'cold'));
    await until(() => sameDigest(a.core.digest(), b.core.digest()), 5000, 'first sync');
    expect(await storedText(b.storage as MemoryStorage, 'w/shared')).toBe('hello world');

    g.cut('A', 'B');
    await until(() => a.core.clusterInfo().peers[0]?.state !== 'connected', 3000, 'cut');
    // A: delete-only change (advances no state vector) and a doc only A has.
    onA.edit('w/shared', (d) => d.getText('body').delete(5, 6));
    onA.edit('w/onlyA', (d) => d.getText('body').insert(0, 'A only'));
    // B: a doc only B has, and an edit to a doc A will not have loaded since its restart.
    const onB = new RawClient(b.core, 'cb');
    onB.subscribe('w/cold');
    await onB.waitFor('w/cold', (d) => d.getText('body').toString() === 'cold');
    onB.edit('w/cold', (d) => d.getText('body').insert(4, ' & warm'));
    onB.edit('w/onlyB', (d) => d.getText('body').insert(0, 'B only'));
    await new Promise((r) => setTimeout(r, 50));
    onA.close();
    onB.close();

    // Restart A on the same storage: nothing is loaded, its index comes from storage.
    await a.core.close();
    const a2 = g.relay('A', { storage: storageA });
    await a2.core.whenIndexed();
    expect(a2.core.stats().rooms).toBe(0);
    g.link('A', 'B');
    g.heal('A', 'B');
    await until(() => sameDigest(a2.core.digest(), b.core.digest()), 8000, 'convergence');
    for (const s of [storageA, b.storage as MemoryStorage]) {
      expect(await storedText(s, 'w/shared')).toBe('hello');
      expect(await storedText(s, 'w/cold')).toBe('cold & warm');
      expect(await storedText(s, 'w/onlyA')).toBe('A only');
      expect(await storedText(s, 'w/onlyB')).toBe('B only');
    }
  });

  it('only differing docs are exchanged, and the digest phase does not grow with history (1,000 docs)', async () => {
    const measure = async (edits: number, differing: number) => {
      const g = new GossipNet();
      net = g;
      const events: Array<Record<string, unknown>> = [];
      const log = (event: string, fields: Record<string, unknown>) =>
        events.push({ event, ...fields });
      const sA = new MemoryStorage();
      const sB = new MemoryStorage();
      const base = docWithHistory(edits, 'x');
      for (let i = 0; i < 1000; i++) {
        const name = `w${i % 10}/n${i}`;
        await sA.append(name, [base]);
        await sB.append(name, [base]);
      }
      for (let i = 0; i < differing; i++)
        await sA.append(`w0/n${i * 7}`, [docWithHistory(1, `d${i}`)]);
      const a = g.relay('A', { storage: sA, log });
      const b = g.relay('B', { storage: sB, log });
      await Promise.all([a.core.whenIndexed(), b.core.whenIndexed()]);
      g.link('A', 'B');
      await until(() => sameDigest(a.core.digest(), b.core.digest()), 10_000, 'convergence');
      await until(() => a.core.clusterInfo().peers[0]?.lastAntiEntropyBytes != null, 3000, 'round');
      const bytes = a.core.clusterInfo().peers[0]!.lastAntiEntropyBytes!;
      const exchanged = anti(events);
      await g.close();
      net = undefined;
      return { bytes, exchanged };
    };
    const short = await measure(1, 0);
    const long = await measure(300, 0);
    // Equal docs: two digests each way and empty doc lists, whatever the history.
    const digestFrame = DIGEST_BUCKETS * FINGERPRINT_BYTES;
    expect(short.bytes.sent).toBeGreaterThanOrEqual(digestFrame);
    expect(short.bytes.sent).toBeLessThan(digestFrame + 64);
    expect(long.bytes).toEqual(short.bytes);
    expect(short.exchanged).toEqual([]);
    const some = await measure(300, 3);
    // Both sides found exactly the 3 differing docs; nothing else moved.
    expect(some.exchanged).toEqual([3, 3]);
    expect(some.bytes.sent + some.bytes.received).toBeLessThan(2 * digestFrame + 3 * 200 * 4);
    console.log(
      `digest phase, 1,000 docs: ${JSON.stringify(short.bytes)} (1 op/doc), ${JSON.stringify(long.bytes)} (301 ops/doc), ${JSON.stringify(some.bytes)} (3 docs differ)`,
    );
  }, 60_000);

  it('a relay with an empty data dir joining late catches up on every doc of every workspace', async () => {
    const g = new GossipNet();
    net = g;
    const sA = new MemoryStorage();
    const names: string[] = [];
    for (let w = 0; w < 3; w++) {
      names.push(`ws${w}`);
      for (let n = 0; n < 20; n++) names.push(`ws${w}/note${n}`);
    }
    for (const name of names) await sA.append(name, [docWithHistory(5, name)]);
    const a = g.relay('A', { storage: sA });
    await a.core.whenIndexed();
    const b = g.relay('B');
    g.link('A', 'B');
    await until(() => sameDigest(a.core.digest(), b.core.digest()), 5000, 'B catches up');
    // C joins late with nothing, connected only to B.
    const c = g.relay('C');
    g.link('C', 'B');
    await until(() => sameDigest(c.core.digest(), a.core.digest()), 5000, 'C catches up');
    const sC = c.storage as MemoryStorage;
    expect(await sC.list('')).toEqual([...names].sort());
    for (const name of names) expect(await storedText(sC, name)).toBe(await storedText(sA, name));
  });
});
