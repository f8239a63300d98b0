import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import {
  decodeFrame,
  decodeYMessage,
  encodeDoc,
  encodeHeartbeat,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type Frame,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from './protocol.ts';

// The fan-out benchmark's transport floor runs as plain node, so it repeats the
// wire format by hand instead of importing this module. These tests hold the
// copy to the original: a drift would otherwise show only as deliveries below
// 100 % in the fan-out table.
const floorPath = fileURLToPath(
  new URL('../../../bench/src/fanout/floorServer.mjs', import.meta.url),
);

const running: ChildProcess[] = [];
const sockets: WebSocket[] = [];
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const child of running.splice(0)) child.kill('SIGKILL');
});

/** `FRAME_SOME_NAME` → `SomeName`, the key of `FrameType`. */
function frameTypeKey(constant: string): string {
  return constant
    .slice('FRAME_'.length)
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _sep, c: string) => c.toUpperCase());
}

async function startFloor(): Promise<string> {
  const child = spawn(process.execPath, [floorPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  running.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m?.[1]) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`floorServer exited with ${code}`)));
  });
  return `ws://127.0.0.1:${port}/sync`;
}

/** A socket to the floor that decodes every frame with this module's decoder. */
async function client(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => frames.push(decodeFrame(new Uint8Array(data))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(
    encodeHello({ protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, role: 'client', id: 't' }),
  );
  return { ws, frames };
}

async function until<T>(find: () => T | undefined): Promise<T> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (performance.now() > deadline) throw new Error('nothing arrived in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('bench/src/fanout/floorServer.mjs speaks this wire format', () => {
  it('declares every frame type it uses with the value of FrameType', () => {
    const source = readFileSync(floorPath, 'utf8');
    const constants = [...source.matchAll(/^const (FRAME_[A-Z_]+) = (\d+);$/gm)];
    expect(constants.map((m) => m[1])).toEqual(
      expect.arrayContaining(['FRAME_DOCS', 'FRAME_ACK', 'FRAME_HEARTBEAT']),
    );
    const frameTypes: Record<string, number> = FrameType;
    for (const [, name = '', value] of constants) {
      expect({ name, value: Number(value) }).toEqual({
        name,
        value: frameTypes[frameTypeKey(name)],
      });
    }
    // Its answer to a SyncStep1 is a SyncStep2 with the empty update.
    const step2 = /^const STEP2_EMPTY = Uint8Array\.of\(([\d, ]+)\);$/m.exec(source)?.[1];
    expect(step2?.split(',').map(Number)).toEqual([
      ...encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())),
    ]);
  });

  it('answers, acks, forwards and replies to heartbeats in frames this module decodes', async () => {
    const url = await startFloor();
    const a = await client(url);
    const b = await client(url);
    const docName = 'w/floor';
    const empty = Y.encodeStateVector(new Y.Doc());
    a.ws.send(encodeDoc(docName, encodeSyncStep1(empty), 1));
    b.ws.send(encodeDoc(docName, encodeSyncStep1(empty), 1));
    const answer = await until(() =>
      a.frames.find((f) => f.type === FrameType.Docs && f.messages[0]?.docName === docName),
    );
    const step2 = decodeYMessage(
      answer.type === FrameType.Docs ? (answer.messages[0]?.message ?? new Uint8Array()) : empty,
    );
    expect(step2).toMatchObject({ type: YMessageType.Sync, step: SyncStep.Step2 });
    await until(() => a.frames.find((f) => f.type === FrameType.Ack && f.seq === 1));
    await until(() => b.frames.find((f) => f.type === FrameType.Ack && f.seq === 1));

    // An update numbered 2 reaches the other member byte for byte, and its sender an Ack(2).
    const doc = new Y.Doc();
    doc.getText('body').insert(0, 'floor');
    const message = encodeSyncUpdate(Y.encodeStateAsUpdate(doc));
    a.ws.send(encodeDoc(docName, message, 2));
    const ack = await until(() => a.frames.find((f) => f.type === FrameType.Ack && f.seq === 2));
    expect(ack).toMatchObject({ type: FrameType.Ack, docName, seq: 2 });
    const forwarded = await until(() =>
      b.frames.find(
        (f) => f.type === FrameType.Docs && f.messages[0]?.message.length === message.length,
      ),
    );
    expect(
      forwarded.type === FrameType.Docs && [...(forwarded.messages[0]?.message ?? [])],
    ).toEqual([...message]);

    // A probe with a multi-byte nonce comes back as its reply.
    a.ws.send(encodeHeartbeat(300, false));
    const reply = await until(() => a.frames.find((f) => f.type === FrameType.Heartbeat));
    expect(reply).toEqual({ type: FrameType.Heartbeat, nonce: 300, reply: true });
  });
});
