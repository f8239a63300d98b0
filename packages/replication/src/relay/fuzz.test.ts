import { expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import {
  CloseCode,
  decodeFrame,
  decodeYMessage,
  encodeAwarenessMessage,
  encodeDoc,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  encodeLeave,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { mutateFrame, type Random, seededRandom } from '../testing/frameMutator.ts';
import { RelayCore } from './RelayCore.ts';
import { encodeAwarenessEntries } from './updateGuard.ts';

/** Frames per run: ≥ 100,000 in CI (`FUZZ_FRAMES` to change; `FUZZ_SEED` to replay). */
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DOC = 'w/fuzz';
const HELLO = encodeHello({
  protocol: PROTOCOL_NAME,
  version: PROTOCOL_VERSION,
  role: 'client',
  id: 'c',
});

/** A connection whose frames go nowhere (the fuzzer does not read replies); records its close. */
class SinkConnection implements RelayConnection {
  bufferedAmount = 0;
  closedWith: number | undefined;
  send(): void {}
  close(code: number): void {
    this.closedWith ??= code;
  }
}

/**
 * A well-behaved multiplexed client: syncs one doc, answers the relay's
 * SyncStep1 and applies what arrives, numbering what it sends.
 */
class HonestClient implements RelayConnection {
  bufferedAmount = 0;
  closedWith: number | undefined;
  readonly doc = new Y.Doc();
  acked = 0;
  #seq = 0;
  readonly handler: ConnectionHandler;

  constructor(core: RelayCore, clientId: number) {
    this.doc.clientID = clientId;
    this.handler = core.acceptMultiplexed(this);
    this.handler.receive(HELLO);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== this) this.#send(encodeSyncUpdate(update));
    });
    this.#send(encodeSyncStep1(Y.encodeStateVector(this.doc)));
  }

  get sent(): number {
    return this.#seq;
  }

  #send(message: Uint8Array): void {
    this.handler.receive(encodeDoc(DOC, message, ++this.#seq));
  }

  send(frame: Uint8Array): void {
    const f = decodeFrame(frame);
    if (f.type === FrameType.Ack && f.docName === DOC) this.acked = Math.max(this.acked, f.seq);
    if (f.type !== FrameType.Docs) return;
    for (const { docName, message } of f.messages) {
      if (docName !== DOC) continue;
      const y = decodeYMessage(message);
      if (y.type !== YMessageType.Sync) continue;
      if (y.step === SyncStep.Step1) {
        this.#send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, y.payload)));
      } else {
        Y.applyUpdate(this.doc, y.payload, this);
      }
    }
  }

  close(code: number): void {
    this.closedWith ??= code;
  }
}

/** Frames of a real editing session in `DOC` and a second doc: the corpus to mutate. */
function captureSession(random: Random): Uint8Array[] {
  const frames: Uint8Array[] = [HELLO];
  const doc = new Y.Doc();
  doc.clientID = 1000;
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  let seq = 0;
  frames.push(encodeDoc(DOC, encodeSyncStep1(Y.encodeStateVector(doc)), ++seq));
  const text = doc.getText('f');
  for (let i = 0; i < 40; i++) {
    if (text.length > 4 && random() < 0.3) text.delete(Math.floor(random() * (text.length - 2)), 2);
    else text.insert(Math.floor(random() * (text.length + 1)), `w${i} `);
    if (i % 7 === 0) text.format(0, Math.min(3, text.length), { bold: true });
    if (i % 11 === 0) doc.getMap('m').set(`k${i}`, { n: i, list: [1, 'x', null] });
  }
  for (const u of updates) frames.push(encodeDoc(DOC, encodeSyncUpdate(u), ++seq));
  frames.push(encodeDoc(DOC, encodeSyncStep2(Y.encodeStateAsUpdate(doc)), ++seq));
  frames.push(
    encodeDoc(
      DOC,
      encodeAwarenessMessage(
        encodeAwarenessEntries([{ clientId: 1000, clock: 1, state: '{"user":{"name":"f"}}' }]),
      ),
    ),
  );
  frames.push(
    encodeDocs([
      { docName: 'w/fuzz2', message: encodeSyncStep1(new Uint8Array([0])), seq: 1 },
      { docName: DOC, message: encodeSyncUpdate(updates[0]!), seq: ++seq },
    ]),
  );
  frames.push(encodeHeartbeat(7, false), encodeLeave('w/fuzz2', 1));
  return frames;
}

it(`survives ${FRAMES} mutated frames with a well-behaved client converging (seed ${SEED})`, async () => {
  const random = seededRandom(SEED);
  const corpus = captureSession(random);
  const core = new RelayCore({
    storage: new MemoryStorage(),
    relayId: 'fuzz',
    commitWindowMs: 1,
    idleUnloadMs: 20,
    heartbeatIntervalMs: 0,
    handshakeTimeoutMs: 60_000,
  });
  const honest = new HonestClient(core, 0x7654321);
  const honestText = honest.doc.getText('honest');
  let expected = '';
  const closes = new Map<number, number>();
  let fuzzConn: { conn: SinkConnection; handler: ConnectionHandler } | null = null;
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  try {
    for (let i = 0; i < FRAMES; i++) {
      if (fuzzConn === null || fuzzConn.conn.closedWith !== undefined) {
        if (fuzzConn?.conn.closedWith !== undefined) {
          const code = fuzzConn.conn.closedWith;
          closes.set(code, (closes.get(code) ?? 0) + 1);
        }
        const conn = new SinkConnection();
        const handler = core.acceptMultiplexed(conn);
        // Mostly past the handshake, so mutants reach the rooms.
        if (random() < 0.9) handler.receive(HELLO);
        fuzzConn = { conn, handler };
      }
      const original = corpus[Math.floor(random() * corpus.length)]!;
      // Some frames go through unmutated: duplicates and reorderings of real traffic.
      const frame = random() < 0.1 ? original : mutateFrame(original, random, corpus);
      fuzzConn.handler.receive(frame);
      if (i % 500 === 0) {
        const at = Math.floor(random() * (expected.length + 1));
        const word = `h${i} `;
        honestText.insert(at, word);
        expected = expected.slice(0, at) + word + expected.slice(at);
        // Let rooms load and commits run.
        await new Promise((r) => setImmediate(r));
      }
    }
    fuzzConn?.handler.closed();
    await waitUntil(() => honest.acked >= honest.sent);
    expect(honest.closedWith).toBeUndefined();
    expect(honestText.toString()).toBe(expected);
    // A fresh client reads exactly the same text: the relay's copy is not corrupted.
    const reader = new HonestClient(core, 0x1234567);
    await waitUntil(() => reader.doc.getText('honest').toString() === expected);
    // Nothing the fuzzer sent was an internal error: every refusal has its own code.
    expect(closes.get(CloseCode.InternalError) ?? 0).toBe(0);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    expect(heapGrowth).toBeLessThan(256 * 1024 * 1024);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `fuzz seed ${SEED}: ${FRAMES} frames in ${seconds.toFixed(1)} s, closes by code ${JSON.stringify(Object.fromEntries(closes))}, heap +${(heapGrowth / 2 ** 20).toFixed(1)} MiB`,
    );
  } catch (err) {
    throw new Error(`fuzz failed with FUZZ_SEED=${SEED}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await core.close();
  }
}, 180_000);

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}
