import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloseCode,
  encodeAwarenessEntries,
  encodeAwarenessMessage,
  encodeDoc,
  encodeHeartbeat,
  encodeHello,
  encodeLeave,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '@lattice/replication';
import { mutateFrame, seededRandom } from '@lattice/replication/testing';
import { expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { startRelay } from './index.ts';
import { MuxWsClient } from './testing/index.ts';

/** Frames per run over real sockets (`FUZZ_SOCKET_FRAMES`; `FUZZ_SEED` to replay). */
const FRAMES = Number(process.env.FUZZ_SOCKET_FRAMES ?? 5_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DOC = 'w/fuzz';
const PARALLEL = 8;

function corpus(): Uint8Array[] {
  const hello = encodeHello({
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    role: 'client',
    id: 'fuzz',
  });
  const doc = new Y.Doc();
  doc.clientID = 2000;
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < 20; i++) doc.getText('f').insert(0, `w${i} `);
  doc.getMap('m').set('k', { list: [1, 'x', null] });
  let seq = 0;
  return [
    hello,
    encodeDoc(DOC, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())), ++seq),
    ...updates.map((u) => encodeDoc(DOC, encodeSyncUpdate(u), ++seq)),
    encodeDoc(DOC, encodeSyncStep2(Y.encodeStateAsUpdate(doc)), ++seq),
    encodeDoc(
      DOC,
      encodeAwarenessMessage(encodeAwarenessEntries([{ clientId: 2000, clock: 1, state: '{}' }])),
    ),
    encodeHeartbeat(3, false),
    encodeLeave(DOC, seq),
  ];
}

/**
 * Seeds that once failed, replayed on every run. 1102126416: a mutant whose
 * item's right origin named its own client's later clock; the relay passed
 * it on before integrating it, and the honest client's Y.applyUpdate threw.
 */
const REGRESSION_SEEDS = [1102126416];

it(`a real relay survives ${FRAMES} mutated frames over sockets (seed ${SEED})`, async () => {
  await fuzzOverSockets(SEED);
}, 120_000);

for (const seed of REGRESSION_SEEDS) {
  it(`regression: socket fuzz seed ${seed}`, async () => {
    await fuzzOverSockets(seed);
  }, 120_000);
}

async function fuzzOverSockets(seed: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-fuzz-'));
  const relay = await startRelay({
    auth: 'off',
    host: '127.0.0.1',
    port: 0,
    dataDir: dir,
    webDir: join(dir, 'missing'),
    commitWindowMs: 2,
    // The fuzzer opens a socket per refusal: more than the per-address default allows at once.
    maxConnectionsPerIp: 10_000,
    rateLimit: { framesPerSecond: 100_000, bytesPerSecond: 1 << 30 },
  });
  const random = seededRandom(seed);
  const frames = corpus();
  const honest = new MuxWsClient(relay.url);
  const sockets = new Set<WebSocket>();
  const closes = new Map<number, number>();
  let sent = 0;
  let connections = 0;
  try {
    await honest.hello();
    const text = honest.sync(DOC).getText('honest');
    let expected = '';
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();

    const fuzzer = async () => {
      while (sent < FRAMES) {
        const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/sync`);
        sockets.add(ws);
        connections++;
        const closed = new Promise<void>((resolve) =>
          ws.once('close', (code: number) => {
            closes.set(code, (closes.get(code) ?? 0) + 1);
            sockets.delete(ws);
            resolve();
          }),
        );
        ws.on('error', () => {});
        await new Promise<void>((resolve) => {
          ws.once('open', () => resolve());
          ws.once('close', () => resolve());
        });
        if (ws.readyState !== WebSocket.OPEN) continue;
        if (random() < 0.9) ws.send(frames[0]!);
        // One mutant at a time, each followed by a heartbeat: its answer (or the
        // close) proves the relay handled the mutant before the next one goes.
        let answered: (() => void) | null = null;
        ws.on('message', (data: Buffer) => {
          if (data[0] === 5 && data[data.length - 1] === 1) answered?.();
        });
        while (sent < FRAMES && ws.readyState === WebSocket.OPEN) {
          const original = frames[Math.floor(random() * frames.length)]!;
          ws.send(random() < 0.1 ? original : mutateFrame(original, random, frames));
          sent++;
          const reply = new Promise<void>((resolve) => {
            answered = resolve;
          });
          ws.send(encodeHeartbeat(sent % 100, false));
          await Promise.race([reply, closed, new Promise((r) => setTimeout(r, 2000))]);
        }
        ws.terminate();
        await closed;
      }
    };
    const editor = async () => {
      while (sent < FRAMES) {
        const at = Math.floor(random() * (expected.length + 1));
        const word = `h${sent} `;
        text.insert(at, word);
        expected = expected.slice(0, at) + word + expected.slice(at);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await Promise.all([editor(), ...Array.from({ length: PARALLEL }, fuzzer)]);
    const seconds = (performance.now() - started) / 1000;

    await honest.waitFor(() => (honest.acked(DOC) >= honest.sent(DOC) ? true : undefined), 20_000);
    expect(honest.ws.readyState).toBe(WebSocket.OPEN);
    expect(text.toString()).toBe(expected);
    const reader = new MuxWsClient(relay.url);
    await reader.hello();
    const copy = reader.sync(DOC).getText('honest');
    await reader.waitFor(() => (copy.toString() === expected ? true : undefined), 20_000);
    await reader.close();
    expect(closes.get(CloseCode.InternalError) ?? 0).toBe(0);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(rssGrowth).toBeLessThan(512 * 1024 * 1024);
    console.log(
      `socket fuzz seed ${seed}: ${sent} frames on ${connections} sockets in ${seconds.toFixed(1)} s, closes ${JSON.stringify(Object.fromEntries(closes))}, rss +${(rssGrowth / 2 ** 20).toFixed(0)} MiB`,
    );
  } catch (err) {
    throw new Error(`socket fuzz failed with FUZZ_SEED=${seed}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    for (const ws of sockets) ws.terminate();
    await honest.close();
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
}
