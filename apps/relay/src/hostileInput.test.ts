import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  CloseCode,
  DocErrorCode,
  encodeAwarenessEntries,
  encodeAwarenessMessage,
  encodeDoc,
  encodeDocs,
  encodeHeartbeat,
  encodeSyncStep1,
  encodeSyncUpdate,
  type Frame,
  FrameType,
} from '@lattice/replication';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { RunningRelay } from './index.ts';
import { MuxWsClient } from './testing/index.ts';
import { useTestRelays } from './testing/relayFixture.ts';

const { start, defer } = useTestRelays('lattice-hostile-', { auth: 'off' });

async function client(relay: RunningRelay): Promise<MuxWsClient> {
  const c = new MuxWsClient(relay.url);
  defer(() => c.close());
  await c.hello();
  return c;
}

/** A client syncing `docName` with `text` typed into it, once the relay holds it. */
async function writer(relay: RunningRelay, docName: string, text: string): Promise<MuxWsClient> {
  const c = await client(relay);
  const doc = c.sync(docName);
  doc.getText('t').insert(0, text);
  await c.waitFor(() => (c.acked(docName) >= c.sent(docName) ? true : undefined));
  return c;
}

/** The relay still serves: a fresh client reads `text` from `docName`. */
async function stillServes(relay: RunningRelay, docName: string, text: string): Promise<void> {
  const reader = await client(relay);
  const doc = reader.sync(docName);
  await reader.waitFor(() => (doc.getText('t').toString() === text ? true : undefined));
}

function docErrors(c: MuxWsClient): Extract<Frame, { type: typeof FrameType.DocError }>[] {
  return c.frames.filter(
    (f): f is Extract<Frame, { type: typeof FrameType.DocError }> => f.type === FrameType.DocError,
  );
}

/** Opens a raw TCP connection and completes a WebSocket upgrade to `/sync` by hand. */
async function rawUpgrade(relay: RunningRelay): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = connect(relay.port, '127.0.0.1');
  defer(() => {
    socket.destroy();
  });
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await until(() => Buffer.concat(received).includes('\r\n\r\n'));
  expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1.1 101/);
  received.length = 0;
  return { socket, received };
}

/** A masked client frame (`fin` false: more fragments follow). */
function wsFrame(opcode: number, payload: Buffer, fin: boolean): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
      : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/** The close code in the first close frame among `chunks` (server frames are unmasked). */
function closeCodeIn(chunks: Buffer[]): number | null {
  const data = Buffer.concat(chunks);
  for (let i = 0; i + 3 < data.length; ) {
    const opcode = data[i]! & 0x0f;
    let len = data[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = data.readUInt16BE(at);
      at += 2;
    }
    if (opcode === 0x8) return data.readUInt16BE(at);
    i = at + len;
  }
  return null;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Status of a refused upgrade to `/sync`, or 101. */
function upgradeStatus(relay: RunningRelay): Promise<{ status: number; ws: WebSocket }> {
  const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/sync`);
  defer(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ws }));
    ws.once('error', reject);
  });
}

describe('frame limits', () => {
  it('closes a socket that sends a frame over maxFrameBytes with 1009 and keeps serving', async () => {
    const relay = await start({ maxFrameBytes: 64 * 1024 });
    await writer(relay, 'w/doc', 'kept');
    const big = await client(relay);
    await big.sendRaw(encodeDoc('w/doc', encodeSyncUpdate(new Uint8Array(100 * 1024))));
    expect((await big.closed).code).toBe(CloseCode.TooBig);
    await stillServes(relay, 'w/doc', 'kept');
  });

  it('ends a fragmented flood (continuations, never FIN) with 1009 and bounded memory', async () => {
    const relay = await start({ maxFrameBytes: 256 * 1024 });
    const { socket, received } = await rawUpgrade(relay);
    const heapBefore = process.memoryUsage().heapUsed;
    const chunk = randomBytes(16 * 1024);
    let sent = 0;
    socket.write(wsFrame(0x2, chunk, false));
    while (!socket.destroyed && closeCodeIn(received) === null && sent < 64 * 1024 * 1024) {
      socket.write(wsFrame(0x0, chunk, false));
      sent += chunk.length;
      if (sent % (512 * 1024) === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => closeCodeIn(received) !== null || socket.destroyed);
    expect(closeCodeIn(received)).toBe(CloseCode.TooBig);
    // The relay stopped it long before the 64 MiB the flood was ready to send.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('ends a flood of empty fragments, which maxPayload alone never would (1008)', async () => {
    const relay = await start();
    const { socket, received } = await rawUpgrade(relay);
    socket.write(wsFrame(0x2, Buffer.alloc(0), false));
    for (let i = 0; i < 5000 && closeCodeIn(received) === null; i++) {
      socket.write(wsFrame(0x0, Buffer.alloc(0), false));
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => closeCodeIn(received) !== null);
    expect(closeCodeIn(received)).toBe(CloseCode.PolicyViolation);
  });
});

describe('connection limits', () => {
  it('closes a slowloris upgrade (headers trickled) at the headers timeout', async () => {
    const relay = await start({ headersTimeoutMs: 300, requestTimeoutMs: 1000 });
    const socket = connect(relay.port, '127.0.0.1');
    defer(() => {
      socket.destroy();
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const opened = Date.now();
    socket.write('GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${Date.now()}: 1\r\n`);
    }, 50);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    clearInterval(trickle);
    const lasted = Date.now() - opened;
    expect(lasted).toBeGreaterThanOrEqual(250);
    expect(lasted).toBeLessThan(5000);
  });

  it('closes a socket that never sends Hello with 4408', async () => {
    const relay = await start({ handshakeTimeoutMs: 200 });
    const silent = new MuxWsClient(relay.url);
    defer(() => silent.close());
    await silent.open();
    expect((await silent.closed).code).toBe(CloseCode.HandshakeTimeout);
  });

  it('refuses connections over the per-address limit with 429, and admits again once one closes', async () => {
    const relay = await start({ maxConnectionsPerIp: 2 });
    const first = await upgradeStatus(relay);
    const second = await upgradeStatus(relay);
    expect([first.status, second.status]).toEqual([101, 101]);
    expect((await upgradeStatus(relay)).status).toBe(429);
    first.ws.close();
    await new Promise((r) => first.ws.once('close', r));
    await until(() => true);
    let status = 0;
    for (let i = 0; i < 50 && status !== 101; i++) {
      status = (await upgradeStatus(relay)).status;
      if (status !== 101) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(101);
  });

  it('refuses connections over the total limit with 503', async () => {
    const relay = await start({ maxConnections: 2, maxConnectionsPerIp: 100 });
    await upgradeStatus(relay);
    await upgradeStatus(relay);
    expect((await upgradeStatus(relay)).status).toBe(503);
  });

  it('refuses docs beyond maxDocsPerConnection with DocError(TooManyDocs)', async () => {
    const relay = await start({ maxDocsPerConnection: 2 });
    const c = await client(relay);
    const sv = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));
    await c.sendRaw(
      encodeDocs([
        { docName: 'w/a', message: sv, seq: 1 },
        { docName: 'w/b', message: sv, seq: 1 },
        { docName: 'w/c', message: sv, seq: 1 },
      ]),
    );
    const errors = await c.waitFor(() => (docErrors(c).length > 0 ? docErrors(c) : undefined));
    expect(errors.map((e) => [e.docName, e.code])).toEqual([['w/c', DocErrorCode.TooManyDocs]]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    // The subscribed docs still sync.
    const doc = c.sync('w/a');
    doc.getText('t').insert(0, 'fine');
    await c.waitFor(() => (c.acked('w/a') >= c.sent('w/a') ? true : undefined));
  });
});

describe('message floods', () => {
  it('pauses a flooding socket at its rate while a well-behaved one keeps low latency', async () => {
    const framesPerSecond = 200;
    const relay = await start({
      rateLimit: { framesPerSecond, bytesPerSecond: 1024 * 1024, burstSeconds: 1 },
    });
    const flooder = await client(relay);
    const polite = await client(relay);
    const heapBefore = process.memoryUsage().heapUsed;
    const replies = (c: MuxWsClient) =>
      c.frames.filter((f) => f.type === FrameType.Heartbeat && f.reply).length;
    const flood = 20_000;
    const started = performance.now();
    for (let i = 0; i < flood; i++) flooder.ws.send(encodeHeartbeat(i + 1, false));
    // The polite client's round trips while the flood is on.
    const rtts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = replies(polite);
      const t0 = performance.now();
      polite.ws.send(encodeHeartbeat(1_000_000 + i, false));
      await polite.waitFor(() => (replies(polite) > before ? true : undefined));
      rtts.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const elapsedS = (performance.now() - started) / 1000;
    const answered = replies(flooder);
    // Throughput capped: the burst plus the sustained rate, plus what was
    // already read when the socket paused (one TCP read: ~7,000 of these frames).
    expect(answered).toBeLessThan(flood / 2);
    expect(answered).toBeLessThan(framesPerSecond * (elapsedS + 1) + 8_000);
    // The debt of that read is repaid at the sustained rate: over the next
    // second at most that many more.
    await new Promise((r) => setTimeout(r, 1000));
    expect(replies(flooder) - answered).toBeLessThanOrEqual(framesPerSecond * 1.5);
    // Paused, not closed: the flooder is still connected.
    expect(flooder.ws.readyState).toBe(WebSocket.OPEN);
    rtts.sort((a, b) => a - b);
    expect(rtts[Math.floor(rtts.length / 2)]!).toBeLessThan(250);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    // Paused sockets cannot read a close frame: cut it.
    flooder.ws.terminate();
    console.log(
      `flood: ${answered}/${flood} heartbeats answered in ${elapsedS.toFixed(2)} s at ${framesPerSecond}/s; polite median RTT ${rtts[Math.floor(rtts.length / 2)]!.toFixed(1)} ms`,
    );
  });
});

describe('malformed and hostile payloads', () => {
  async function closeCodeFor(relay: RunningRelay, frame: Uint8Array): Promise<number> {
    const c = await client(relay);
    await c.sendRaw(frame);
    return (await c.closed).code;
  }

  it('closes each bad input with its documented code; other rooms carry on', async () => {
    const relay = await start();
    const other = await writer(relay, 'w/other', 'untouched');
    const cases: [string, Uint8Array, number][] = [
      ['truncated frame varint', new Uint8Array([0x81]), CloseCode.MalformedFrame],
      ['unknown frame type', new Uint8Array([0x7f]), CloseCode.MalformedFrame],
      [
        'malformed y-protocols message',
        encodeDoc('w/x', new Uint8Array([0, 9])),
        CloseCode.MalformedFrame,
      ],
      [
        'truncated y-protocols varint',
        encodeDoc('w/x', new Uint8Array([0, 2, 0xff])),
        CloseCode.MalformedFrame,
      ],
      [
        'zero-length update',
        encodeDoc('w/x', encodeSyncUpdate(new Uint8Array())),
        CloseCode.UpdateRejected,
      ],
      [
        'truncated update varint',
        encodeDoc('w/x', encodeSyncUpdate(new Uint8Array([1, 0xff]))),
        CloseCode.UpdateRejected,
      ],
      [
        'struct count bomb',
        encodeDoc('w/x', encodeSyncUpdate(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0]))),
        CloseCode.UpdateRejected,
      ],
      [
        'garbage update (yjs#479)',
        encodeDoc('w/x', encodeSyncUpdate(new Uint8Array(Buffer.from('garbagedoc', 'base64')))),
        CloseCode.UpdateRejected,
      ],
      [
        'malformed awareness',
        encodeDoc('w/x', encodeAwarenessMessage(new Uint8Array([5, 1]))),
        CloseCode.MalformedFrame,
      ],
    ];
    for (const [name, frame, code] of cases) {
      expect({ name, code: await closeCodeFor(relay, frame) }).toEqual({ name, code });
    }
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    other.docs.get('w/other')!.getText('t').insert(0, 'still ');
    await other.waitFor(() => (other.acked('w/other') >= other.sent('w/other') ? true : undefined));
    await stillServes(relay, 'w/other', 'still untouched');
  });

  it('closes awareness spam (fabricated ids, foreign ids, huge states) with 4429', async () => {
    const relay = await start();
    const honest = await client(relay);
    honest.sync('w/room');
    const state = (id: number) => ({ clientId: id, clock: 1, state: '{"user":"x"}' });
    await honest.sendRaw(
      encodeDoc('w/room', encodeAwarenessMessage(encodeAwarenessEntries([state(42)]))),
    );

    const spammer = await client(relay);
    spammer.sync('w/room');
    const fabricated = [1, 2, 3, 4, 5].map(state);
    await spammer.sendRaw(
      encodeDoc('w/room', encodeAwarenessMessage(encodeAwarenessEntries(fabricated))),
    );
    expect((await spammer.closed).code).toBe(CloseCode.RateLimited);

    const thief = await client(relay);
    thief.sync('w/room');
    await thief.sendRaw(
      encodeDoc(
        'w/room',
        encodeAwarenessMessage(encodeAwarenessEntries([{ ...state(42), clock: 9 }])),
      ),
    );
    expect((await thief.closed).code).toBe(CloseCode.RateLimited);

    const huge = await client(relay);
    huge.sync('w/room');
    const big = { clientId: 77, clock: 1, state: JSON.stringify({ pad: 'x'.repeat(20_000) }) };
    await huge.sendRaw(encodeDoc('w/room', encodeAwarenessMessage(encodeAwarenessEntries([big]))));
    expect((await huge.closed).code).toBe(CloseCode.RateLimited);

    // A foreign removal (what an honest client sends when a remote state times out) is ignored.
    const bystander = await client(relay);
    bystander.sync('w/room');
    await bystander.sendRaw(
      encodeDoc(
        'w/room',
        encodeAwarenessMessage(encodeAwarenessEntries([{ clientId: 42, clock: 1, state: 'null' }])),
      ),
    );
    await bystander.sendRaw(encodeHeartbeat(7, false));
    await bystander.waitFor(() =>
      bystander.frames.some((f) => f.type === FrameType.Heartbeat && f.reply) ? true : undefined,
    );
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    expect(honest.ws.readyState).toBe(WebSocket.OPEN);
  });
});
