import { expect, test } from '@playwright/test';
import * as Y from 'yjs';
import { Cluster } from '../harness/Cluster.ts';
import { connectYClient, sameState, type YClient } from '../harness/yClient.ts';

// Node only, no browser: two relay processes with a fault proxy between them.
// Each side takes 10,000 edits while the link is refused; then the link heals
// and we measure how long until both sides hold the same state, and how many
// bytes crossed the proxy compared with the minimal diff (what each side lacks,
// encoded by Yjs as compactly as it can) and with the full state of the docs
// (a common history of as many edits precedes the partition).

const EDITS_PER_SIDE = Number(process.env.GOSSIP_BENCH_EDITS ?? 10_000);
const DOCS = 10;
const SEED = Number(process.env.GOSSIP_BENCH_SEED ?? 4242);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keystroke-sized edits: mostly 1–3 characters typed at a random spot, every 8th a deletion. */
async function edit(clients: YClient[], count: number, random: () => number): Promise<number> {
  let updateBytes = 0;
  const count1 = (u: Uint8Array) => {
    updateBytes += u.length;
  };
  for (const c of clients) c.doc.on('update', count1);
  for (let i = 0; i < count; i++) {
    const c = clients[i % clients.length] as YClient;
    const body = c.body;
    if (i % 8 === 7 && body.length > 0) {
      body.delete(Math.floor(random() * body.length), 1);
    } else {
      const text = 'abcdefghij'.slice(0, 1 + Math.floor(random() * 3));
      body.insert(Math.floor(random() * (body.length + 1)), text);
    }
    // Let the provider's socket drain now and then rather than queueing everything.
    if (i % 500 === 499) await sleep(0);
  }
  for (const c of clients) c.doc.off('update', count1);
  return updateBytes;
}

test(`heal after ${EDITS_PER_SIDE} edits per side: convergence time and bytes versus the minimal diff`, async () => {
  test.setTimeout(180_000);
  console.log(`gossip bench seed=${SEED} (GOSSIP_BENCH_SEED replays)`);
  const random = rng(SEED);
  const cluster = await Cluster.start({ names: ['A', 'B'] });
  const onA: YClient[] = [];
  const onB: YClient[] = [];
  try {
    const names = Array.from({ length: DOCS }, (_, i) => `bench/n${i}`);
    for (const name of names) {
      onA.push(await connectYClient(cluster.front('A').url, name));
      onB.push(await connectYClient(cluster.front('B').url, name));
    }
    // A common history as long as each side's divergence, replicated by gossip before the
    // partition: an exchange that resent whole docs would cost twice the minimal diff.
    await edit(onA, EDITS_PER_SIDE, random);
    const replicatingSince = performance.now();
    await expect
      .poll(() => onA.every((a, i) => sameState(a.doc, (onB[i] as YClient).doc)), {
        timeout: 30_000,
      })
      .toBe(true);
    console.log(
      `common history on B's clients ${Math.round(performance.now() - replicatingSince)} ms after A's last edit`,
    );

    cluster.partition([['A'], ['B']], 'refuse');
    const sentA = await edit(onA, EDITS_PER_SIDE, random);
    const sentB = await edit(onB, EDITS_PER_SIDE, random);
    // Each relay holds its side's edits (read back by fresh clients) before the heal.
    for (const [relay, writers] of [
      ['A', onA],
      ['B', onB],
    ] as const) {
      for (const [i, writer] of writers.entries()) {
        const probe = await connectYClient(cluster.front(relay).url, names[i] as string);
        await expect.poll(() => sameState(probe.doc, writer.doc), { timeout: 30_000 }).toBe(true);
        probe.destroy();
      }
    }
    expect(onA.every((c, i) => !sameState(c.doc, (onB[i] as YClient).doc))).toBe(true);

    let minimal = 0;
    let fullState = 0;
    for (const [i, a] of onA.entries()) {
      const b = onB[i] as YClient;
      minimal += Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)).length;
      minimal += Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc)).length;
      fullState += Y.encodeStateAsUpdate(a.doc).length + Y.encodeStateAsUpdate(b.doc).length;
    }

    const links = [cluster.link('A', 'B'), cluster.link('B', 'A')];
    const acceptedBefore = links.reduce((n, p) => n + p.accepted, 0);
    cluster.resetLinkBytes();
    const healedAt = performance.now();
    cluster.heal();
    let reconnectMs: number | null = null;
    while (!onA.every((a, i) => sameState(a.doc, (onB[i] as YClient).doc))) {
      if (reconnectMs === null && links.reduce((n, p) => n + p.accepted, 0) > acceptedBefore) {
        reconnectMs = performance.now() - healedAt;
      }
      if (performance.now() - healedAt > 60_000) throw new Error('not converged 60 s after heal');
      await sleep(10);
    }
    const convergeMs = performance.now() - healedAt;
    const atConvergence = cluster.linkBytes();
    // Acks and the last anti-entropy replies trail the data.
    await sleep(1500);
    const settled = cluster.linkBytes();
    const total = settled.up + settled.down;
    const infoA = await cluster.info('A');
    const infoB = await cluster.info('B');

    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.table({
      'edits per side': EDITS_PER_SIDE,
      docs: DOCS,
      'single updates as typed (both sides)': kb(sentA + sentB),
      'full state (both sides)': kb(fullState),
      'minimal diff (both directions)': kb(minimal),
      'link reconnected after heal': `${reconnectMs === null ? '?' : reconnectMs.toFixed(0)} ms`,
      'converged after heal': `${convergeMs.toFixed(0)} ms`,
      'converged after reconnect': `${reconnectMs === null ? '?' : (convergeMs - reconnectMs).toFixed(0)} ms`,
      'bytes through proxy at convergence': kb(atConvergence.up + atConvergence.down),
      'bytes through proxy +1.5 s (up/down)': `${kb(total)} (${kb(settled.up)} / ${kb(settled.down)})`,
      'bytes / minimal diff': (total / minimal).toFixed(2),
      'A last anti-entropy (sent/received)': JSON.stringify(
        infoA.peers.map((p) => p.lastAntiEntropyBytes),
      ),
      'B last anti-entropy (sent/received)': JSON.stringify(
        infoB.peers.map((p) => p.lastAntiEntropyBytes),
      ),
    });

    // What crossed is the diff plus framing, digests and acks, not the common history again.
    expect(total).toBeLessThan(1.25 * minimal + 16 * 1024);
    expect(total).toBeLessThan(2 * fullState);
    // Both relays' own copies agree (fresh clients, after the writers' view).
    for (const [i, name] of names.entries()) {
      const probeA = await connectYClient(cluster.front('A').url, name);
      const probeB = await connectYClient(cluster.front('B').url, name);
      expect(sameState(probeA.doc, (onA[i] as YClient).doc)).toBe(true);
      expect(sameState(probeB.doc, probeA.doc)).toBe(true);
      probeA.destroy();
      probeB.destroy();
    }
  } finally {
    for (const c of [...onA, ...onB]) c.destroy();
    await cluster.dispose();
  }
});
