import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import * as Y from 'yjs';
import { type RunningRelay, startRelay } from './index.ts';
import { FrameTally, MuxWsClient } from './testing/index.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(): Promise<RunningRelay> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lattice-gossip-m-'));
  const r = await startRelay({
    auth: 'off',
    host: '127.0.0.1',
    port: 0,
    dataDir,
    webDir: join(dataDir, 'no-web'),
    antiEntropyIntervalMs: 0,
  });
  cleanups.push(async () => {
    await r.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return r;
}

/** Seeded small edits: mostly typing, some deletions, anywhere in the note. */
function typeInto(doc: Y.Doc, edits: number, seed: number): void {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const text = doc.getText('body');
  // Sent as one update per 100 edits (as a front end reconnecting after offline typing does);
  // the note's history still holds every edit.
  for (let i = 0; i < edits; i += 100) {
    doc.transact(() => {
      for (let j = i; j < Math.min(edits, i + 100); j++) {
        const at = Math.floor(next() * (text.length + 1));
        if (text.length > 0 && next() < 0.15) text.delete(Math.min(at, text.length - 1), 1);
        else text.insert(at, String.fromCharCode(97 + Math.floor(next() * 26)));
      }
    });
  }
}

const EDITS = 10_000;

it(`measures convergence after heal: ${EDITS} edits per side to one note`, async () => {
  const a = await relay();
  const b = await relay();
  const docName = 'w/note';
  const clients: Array<{ client: MuxWsClient; doc: Y.Doc }> = [];
  for (const [r, seed] of [
    [a, 1],
    [b, 2],
  ] as const) {
    const client = new MuxWsClient(r.url);
    cleanups.push(() => client.close());
    await client.hello();
    const doc = client.sync(docName);
    typeInto(doc, EDITS, seed);
    await client.waitFor(
      () => (client.acked(docName) === client.sent(docName) ? true : undefined),
      15_000,
    );
    clients.push({ client, doc });
  }
  const docA = clients[0]!.doc;
  const docB = clients[1]!.doc;
  const minimal =
    Y.encodeStateAsUpdate(docA, Y.encodeStateVector(docB)).length +
    Y.encodeStateAsUpdate(docB, Y.encodeStateVector(docA)).length;

  const tally = new FrameTally();
  const started = performance.now();
  a.core.addPeer(`ws://127.0.0.1:${b.port}/sync`, tally.factory);
  const same = () => {
    const x = a.core.digest();
    const y = b.core.digest();
    return x.some((v) => v !== 0) && x.every((v, i) => v === y[i]);
  };
  while (!same()) {
    if (performance.now() - started > 15_000) throw new Error('no convergence within 15 s');
    await new Promise((r) => setTimeout(r, 2));
  }
  const convergedMs = performance.now() - started;
  const bytes = tally.frames.reduce((sum, f) => sum + f.bytes, 0);
  const peer = a.core.clusterInfo().peers[0]!;
  console.log(
    [
      `gossip heal, ${EDITS} edits per side on one note (2 relays, loopback):`,
      `  link-up → equal fingerprints: ${convergedMs.toFixed(0)} ms`,
      `  peer-link bytes: ${bytes} (${tally.frames.length} frames), minimal diff both ways: ${minimal} → ${(bytes / minimal).toFixed(2)}×`,
      `  digest phase: ${JSON.stringify(peer.lastAntiEntropyBytes)}`,
    ].join('\n'),
  );
  expect(convergedMs).toBeLessThan(15_000);
  // Only the diff moves, plus the digest and a bounded overhead.
  expect(bytes).toBeLessThan(minimal * 1.5 + 16_000);
  // Both relays hold the same content as the union of both clients.
  const merged = new Y.Doc();
  Y.applyUpdate(merged, Y.encodeStateAsUpdate(docA));
  Y.applyUpdate(merged, Y.encodeStateAsUpdate(docB));
  const onA = new MuxWsClient(a.url);
  cleanups.push(() => onA.close());
  await onA.hello();
  const check = onA.sync(docName);
  await onA.waitFor(() =>
    check.getText('body').toString() === merged.getText('body').toString() ? true : undefined,
  );
}, 30_000);
