import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { ConnectionHandler, StorageAdapter } from '../ports.ts';
import {
  CloseCode,
  DocErrorCode,
  decodeFrame,
  decodeYMessage,
  encodeAck,
  encodeAwarenessMessage,
  encodeDoc,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  encodeLeave,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type Frame,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  TARGET_BATCH_BYTES,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { RecordingConnection } from '../testing/index.ts';
import { RelayCore } from './RelayCore.ts';
import { edit } from './testing/roomMember.ts';

const HELLO = encodeHello({
  protocol: PROTOCOL_NAME,
  version: PROTOCOL_VERSION,
  role: 'client',
  id: 'test',
});

function makeCore(storage: StorageAdapter = new MemoryStorage(), extra = {}) {
  return new RelayCore({ storage, relayId: 'relay-1', commitWindowMs: 1, ...extra });
}

function connectMux(core: RelayCore, hello = true) {
  const conn = new RecordingConnection();
  const handler = core.acceptMultiplexed(conn);
  if (hello) handler.receive(HELLO);
  return { conn, handler };
}

function connectYws(core: RelayCore, docName: string) {
  const conn = new RecordingConnection();
  const handler = core.acceptYWebsocket(conn, docName);
  return { conn, handler };
}

function framesOf<T extends Frame['type']>(
  conn: RecordingConnection,
  type: T,
): Extract<Frame, { type: T }>[] {
  return conn.frames().filter((f): f is Extract<Frame, { type: T }> => f.type === type);
}

function syncMessages(messages: YMessage[], step: SyncStep): Uint8Array[] {
  return messages.flatMap((m) =>
    m.type === YMessageType.Sync && m.step === step ? [m.payload] : [],
  );
}

function awarenessOf(clientDoc: Y.Doc, state: Record<string, unknown>) {
  const awareness = new awarenessProtocol.Awareness(clientDoc);
  awareness.setLocalState(state);
  const message = encodeAwarenessMessage(
    awarenessProtocol.encodeAwarenessUpdate(awareness, [clientDoc.clientID]),
  );
  return { awareness, message };
}

function clientIdsIn(messages: YMessage[]): Map<number, unknown> {
  const observer = new awarenessProtocol.Awareness(new Y.Doc());
  for (const m of messages) {
    if (m.type === YMessageType.Awareness) {
      awarenessProtocol.applyAwarenessUpdate(observer, m.update, 'test');
    }
  }
  const states = new Map(observer.getStates());
  observer.destroy();
  return states;
}

describe('RelayCore multiplexed handshake', () => {
  it('answers a client Hello with its own', () => {
    const core = makeCore();
    const { conn } = connectMux(core);
    expect(conn.frames()).toEqual([
      {
        type: FrameType.Hello,
        hello: {
          protocol: PROTOCOL_NAME,
          version: PROTOCOL_VERSION,
          role: 'relay',
          id: 'relay-1',
          // OPEN_ACCESS (auth off) is reported as full access.
          access: 'full',
        },
      },
    ]);
    expect(core.stats()).toEqual({
      rooms: 0,
      connections: 1,
      connectionsByKind: { multiplexed: 1, 'y-websocket': 0, peer: 0 },
    });
  });

  it('closes with MalformedFrame when the first frame is not a Hello', () => {
    const core = makeCore();
    const { conn, handler } = connectMux(core, false);
    handler.receive(encodeHeartbeat(1, false));
    expect(conn.closedWith).toEqual({
      code: CloseCode.MalformedFrame,
      reason: 'first frame must be Hello',
    });
    expect(core.stats().connections).toBe(0);
  });

  it('closes with MalformedFrame on undecodable bytes', () => {
    const { conn, handler } = connectMux(makeCore(), false);
    handler.receive(new Uint8Array([0x63, 0xff]));
    expect(conn.closedWith?.code).toBe(CloseCode.MalformedFrame);
    expect(conn.closedWith?.reason).toMatch(/frame/);
    expect(conn.sent).toEqual([]);
  });

  it('closes with UnsupportedVersion on another protocol version', () => {
    const { conn, handler } = connectMux(makeCore(), false);
    handler.receive(encodeHello({ protocol: PROTOCOL_NAME, version: 99, role: 'client' }));
    expect(conn.closedWith?.code).toBe(CloseCode.UnsupportedVersion);
    expect(conn.closedWith?.reason).toMatch(/99/);
  });

  it('closes with HandshakeTimeout when no Hello arrives in time', async () => {
    const core = makeCore(new MemoryStorage(), { handshakeTimeoutMs: 10 });
    const { conn } = connectMux(core, false);
    await conn.waitFor(() => conn.closedWith);
    expect(conn.closedWith?.code).toBe(CloseCode.HandshakeTimeout);
    expect(core.stats().connections).toBe(0);
  });

  it('answers heartbeats and ignores heartbeat replies', () => {
    const { conn, handler } = connectMux(makeCore());
    conn.clear();
    handler.receive(encodeHeartbeat(42, false));
    handler.receive(encodeHeartbeat(7, true));
    expect(conn.frames()).toEqual([{ type: FrameType.Heartbeat, nonce: 42, reply: true }]);
  });

  it('closes on a later undecodable frame or a frame only relays send; ignores a duplicated Hello', () => {
    const core = makeCore();
    const a = connectMux(core);
    a.handler.receive(new Uint8Array([FrameType.Docs, 1]));
    expect(a.conn.closedWith?.code).toBe(CloseCode.MalformedFrame);
    const b = connectMux(core);
    b.conn.clear();
    b.handler.receive(HELLO);
    expect(b.conn.closedWith).toBeUndefined();
    expect(b.conn.sent).toEqual([]);
    b.handler.receive(encodeAck('w1', 1, new Uint8Array([0])));
    expect(b.conn.closedWith).toEqual({
      code: CloseCode.MalformedFrame,
      reason: 'unexpected frame type 2 from a client',
    });
  });
});

describe('RelayCore multiplexed sync', () => {
  it('answers a batch of SyncStep1s with one batched reply per incoming frame', async () => {
    const storage = new MemoryStorage();
    const seeded = new Y.Doc();
    await storage.append('w1/n1', [edit(seeded, 'stored body')]);
    const core = makeCore(storage);
    const { conn, handler } = connectMux(core);
    conn.clear();
    const empty = Y.encodeStateVector(new Y.Doc());
    handler.receive(
      encodeDocs([
        { docName: 'w1', message: encodeSyncStep1(empty) },
        { docName: 'w1/n1', message: encodeSyncStep1(empty) },
        { docName: 'w1/n2', message: encodeSyncStep1(empty) },
      ]),
    );
    await conn.waitFor(() => (conn.sent.length > 0 ? true : undefined));
    const docs = framesOf(conn, FrameType.Docs);
    expect(docs).toHaveLength(1);
    const entries = docs[0]!.messages.map((m) => {
      const y = decodeYMessage(m.message);
      return [m.docName, y.type === YMessageType.Sync ? y.step : -1];
    });
    expect(entries).toEqual([
      ['w1', SyncStep.Step2],
      ['w1', SyncStep.Step1],
      ['w1/n1', SyncStep.Step2],
      ['w1/n1', SyncStep.Step1],
      ['w1/n2', SyncStep.Step2],
      ['w1/n2', SyncStep.Step1],
    ]);
    const client = new Y.Doc();
    for (const u of syncMessages(conn.docMessages('w1/n1'), SyncStep.Step2)) {
      Y.applyUpdate(client, u);
    }
    expect(client.getText('body').toString()).toBe('stored body');
    expect(core.stats()).toEqual({
      rooms: 3,
      connections: 1,
      connectionsByKind: { multiplexed: 1, 'y-websocket': 0, peer: 0 },
    });
  });

  it('acks numbered messages per doc after they are stored', async () => {
    const storage = new MemoryStorage();
    const core = makeCore(storage);
    const { conn, handler } = connectMux(core);
    const client = new Y.Doc();
    handler.receive(encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(client)), 1));
    await conn.waitFor(() => (framesOf(conn, FrameType.Docs).length > 0 ? true : undefined));
    // Step 4: the client answers the relay's SyncStep1, even with nothing to send.
    handler.receive(encodeDoc('w1/n1', encodeSyncStep2(Y.encodeStateAsUpdate(client)), 2));
    handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(client, 'hello')), 3));
    handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(client, ' world', 5)), 4));
    // Unnumbered messages (as a plain client would send) are applied but never acked.
    handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(client, '!', 11))));
    await conn.waitFor(() =>
      framesOf(conn, FrameType.Ack).some((a) => a.seq === 4) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 10));
    const acks = framesOf(conn, FrameType.Ack);
    // Step1 and the empty Step2 are durable at once; both updates share one group commit.
    expect(acks.map((a) => [a.docName, a.seq])).toEqual([
      ['w1/n1', 1],
      ['w1/n1', 2],
      ['w1/n1', 4],
    ]);
    expect(Y.decodeStateVector(acks.at(-1)!.stateVector)).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(client)),
    );
    const stored = new Y.Doc();
    for (const u of (await storage.load('w1/n1')).updates) Y.applyUpdate(stored, u);
    expect(stored.getText('body').toString()).toBe('hello world!');
  });

  it('acks only the contiguous durable prefix when messages arrive reordered or twice', async () => {
    const storage = new MemoryStorage();
    const core = makeCore(storage);
    const { conn, handler } = connectMux(core);
    const client = new Y.Doc();
    const step1 = encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(client)), 1);
    const u2 = encodeDoc('w1/n1', encodeSyncUpdate(edit(client, 'a')), 2);
    const u3 = encodeDoc('w1/n1', encodeSyncUpdate(edit(client, 'b', 1)), 3);
    const u4 = encodeDoc('w1/n1', encodeSyncUpdate(edit(client, 'c', 2)), 4);
    const acked = () => framesOf(conn, FrameType.Ack).map((a) => a.seq);
    handler.receive(step1);
    handler.receive(u3);
    handler.receive(u4);
    handler.receive(u3);
    await new Promise((r) => setTimeout(r, 20));
    // 3 and 4 are stored, but 2 is missing: nothing beyond 1 may be acked.
    expect(acked()).toEqual([1]);
    handler.receive(u2);
    await conn.waitFor(() => (acked().includes(4) ? true : undefined));
    handler.receive(u2);
    handler.receive(step1);
    await new Promise((r) => setTimeout(r, 20));
    expect(acked()).toEqual([1, 4]);
    const stored = new Y.Doc();
    for (const u of (await storage.load('w1/n1')).updates) Y.applyUpdate(stored, u);
    expect(stored.getText('body').toString()).toBe('abc');
    // The duplicate Step1 was not answered again.
    const step1Answers = conn
      .docMessages('w1/n1')
      .filter((m) => m.type === YMessageType.Sync && m.step === SyncStep.Step2);
    expect(step1Answers).toHaveLength(1);
    await core.close();
  });

  it('ignores a Leave overtaken by a later message, and keeps acking messages it overtook', async () => {
    const core = makeCore();
    const { conn, handler } = connectMux(core);
    const other = connectMux(core);
    const client = new Y.Doc();
    const sv = () => Y.encodeStateVector(client);
    other.handler.receive(encodeDoc('w1', encodeSyncStep1(sv()), 1));
    // Sent: Step1(1), Update(2), Leave(2), Step1(3). Arrives: Step1(1), Leave(2), Update(2)…
    handler.receive(encodeDoc('w1', encodeSyncStep1(sv()), 1));
    const update = edit(client, 'x');
    handler.receive(encodeLeave('w1', 2));
    handler.receive(encodeDoc('w1', encodeSyncUpdate(update), 2));
    await conn.waitFor(() =>
      framesOf(conn, FrameType.Ack).some((a) => a.seq === 2) ? true : undefined,
    );
    // …applied and acked, but it did not subscribe the doc again.
    conn.clear();
    other.handler.receive(encodeDoc('w1', encodeSyncUpdate(edit(new Y.Doc(), 'y')), 2));
    await new Promise((r) => setTimeout(r, 5));
    expect(conn.docMessages('w1')).toEqual([]);
    // Then Step1(3) and a stale copy of Leave(2): the doc stays subscribed.
    handler.receive(encodeDoc('w1', encodeSyncStep1(sv()), 3));
    handler.receive(encodeLeave('w1', 2));
    other.handler.receive(encodeDoc('w1', encodeSyncUpdate(edit(new Y.Doc(), 'z')), 3));
    await conn.waitFor(() =>
      conn.docMessages('w1').some((m) => m.type === YMessageType.Sync && m.step === SyncStep.Update)
        ? true
        : undefined,
    );
    await core.close();
  });

  it('forwards updates and awareness between multiplexed and y-websocket members of a room', async () => {
    const core = makeCore();
    const mux = connectMux(core);
    const yws = connectYws(core, 'w1/n1');
    // The y-websocket peer gets the relay's SyncStep1 on connect, like the reference server.
    await yws.conn.waitFor(() => (yws.conn.sent.length > 0 ? true : undefined));
    expect(yws.conn.yMessages()).toEqual([
      {
        type: YMessageType.Sync,
        step: SyncStep.Step1,
        payload: Y.encodeStateVector(new Y.Doc()),
      },
    ]);
    const muxDoc = new Y.Doc();
    mux.handler.receive(encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(muxDoc))));
    await mux.conn.waitFor(() => (framesOf(mux.conn, FrameType.Docs).length ? true : undefined));

    mux.handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(muxDoc, 'from mux')), 1));
    const ywsDoc = new Y.Doc();
    for (const u of syncMessages(yws.conn.yMessages(), SyncStep.Update)) Y.applyUpdate(ywsDoc, u);
    expect(ywsDoc.getText('body').toString()).toBe('from mux');

    yws.handler.receive(encodeSyncUpdate(edit(ywsDoc, 'yws+', 0)));
    for (const u of syncMessages(mux.conn.docMessages('w1/n1'), SyncStep.Update)) {
      Y.applyUpdate(muxDoc, u);
    }
    expect(muxDoc.getText('body').toString()).toBe('yws+from mux');

    const ywsAware = awarenessOf(ywsDoc, { name: 'stock client' });
    yws.handler.receive(ywsAware.message);
    const muxAware = awarenessOf(muxDoc, { name: 'lattice client' });
    mux.handler.receive(encodeDoc('w1/n1', muxAware.message));
    expect(clientIdsIn(mux.conn.docMessages('w1/n1')).get(ywsDoc.clientID)).toEqual({
      name: 'stock client',
    });
    expect(clientIdsIn(yws.conn.yMessages()).get(muxDoc.clientID)).toEqual({
      name: 'lattice client',
    });

    // Wait for the mux peer's acks: the y-websocket peer must never see one.
    await mux.conn.waitFor(() => (framesOf(mux.conn, FrameType.Ack).length ? true : undefined));
    await new Promise((r) => setTimeout(r, 10));
    for (const frame of yws.conn.sent) expect(() => decodeYMessage(frame)).not.toThrow();

    // Closing the y-websocket socket removes its awareness for the others.
    yws.handler.closed();
    expect(clientIdsIn(mux.conn.docMessages('w1/n1')).has(ywsDoc.clientID)).toBe(false);
    ywsAware.awareness.destroy();
    muxAware.awareness.destroy();
    await core.close();
  });

  it('sends the room awareness to a new subscriber and to y-websocket peers on connect', async () => {
    const core = makeCore();
    const first = connectMux(core);
    const present = new Y.Doc();
    const aware = awarenessOf(present, { cursor: 3 });
    first.handler.receive(encodeDoc('w1', encodeSyncStep1(Y.encodeStateVector(present))));
    await first.conn.waitFor(() =>
      framesOf(first.conn, FrameType.Docs).length ? true : undefined,
    );
    first.handler.receive(encodeDoc('w1', aware.message));

    const second = connectMux(core);
    second.handler.receive(encodeDoc('w1', encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))));
    await second.conn.waitFor(() =>
      framesOf(second.conn, FrameType.Docs).length ? true : undefined,
    );
    const kinds = second.conn.docMessages('w1').map((m) => m.type);
    expect(kinds).toEqual([YMessageType.Sync, YMessageType.Sync, YMessageType.Awareness]);
    expect(clientIdsIn(second.conn.docMessages('w1')).get(present.clientID)).toEqual({
      cursor: 3,
    });

    const yws = connectYws(core, 'w1');
    await yws.conn.waitFor(() => (yws.conn.sent.length >= 2 ? true : undefined));
    expect(clientIdsIn(yws.conn.yMessages()).get(present.clientID)).toEqual({ cursor: 3 });
    yws.conn.clear();
    yws.handler.receive(new Uint8Array([YMessageType.QueryAwareness]));
    expect(clientIdsIn(yws.conn.yMessages()).get(present.clientID)).toEqual({ cursor: 3 });
    aware.awareness.destroy();
    await core.close();
  });

  it('stops forwarding after Leave and drops the leaver’s awareness', async () => {
    const core = makeCore();
    const a = connectMux(core);
    const b = connectMux(core);
    const aDoc = new Y.Doc();
    for (const c of [a, b]) {
      c.handler.receive(encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(aDoc))));
      await c.conn.waitFor(() => (framesOf(c.conn, FrameType.Docs).length ? true : undefined));
    }
    const aware = awarenessOf(aDoc, { user: 'a' });
    a.handler.receive(encodeDoc('w1/n1', aware.message));
    expect(clientIdsIn(b.conn.docMessages('w1/n1')).has(aDoc.clientID)).toBe(true);
    a.handler.receive(encodeLeave('w1/n1'));
    expect(clientIdsIn(b.conn.docMessages('w1/n1')).has(aDoc.clientID)).toBe(false);
    a.conn.clear();
    b.handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(new Y.Doc(), 'after leave'))));
    expect(a.conn.sent).toEqual([]);
    // A peer that numbers nothing subscribes again with its next message.
    a.handler.receive(encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(aDoc))));
    b.handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(new Y.Doc(), 'back'))));
    expect(syncMessages(a.conn.docMessages('w1/n1'), SyncStep.Update)).toHaveLength(1);
    aware.awareness.destroy();
    await core.close();
  });
});

describe('RelayCore refusals', () => {
  it('refuses an invalid doc name with DocError and keeps the socket', async () => {
    const core = makeCore();
    const { conn, handler } = connectMux(core);
    conn.clear();
    const sv = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));
    handler.receive(
      encodeDocs([
        { docName: 'w1//n1', message: sv },
        { docName: 'w1/../x', message: sv },
        { docName: 'w1', message: sv },
      ]),
    );
    await conn.waitFor(() => (framesOf(conn, FrameType.Docs).length ? true : undefined));
    const errors = framesOf(conn, FrameType.DocError);
    expect(errors.map((e) => [e.docName, e.code])).toEqual([
      ['w1//n1', DocErrorCode.InvalidDocName],
      ['w1/../x', DocErrorCode.InvalidDocName],
    ]);
    expect(conn.closedWith).toBeUndefined();
    expect(core.stats().rooms).toBe(1);
  });

  it('closes a y-websocket socket whose doc name is invalid', () => {
    const core = makeCore();
    const { conn } = connectYws(core, 'w1/');
    expect(conn.closedWith?.code).toBe(CloseCode.MalformedFrame);
    expect(conn.closedWith?.reason).toMatch(/invalid doc name/);
    expect(core.stats()).toEqual({
      rooms: 0,
      connections: 0,
      connectionsByKind: { multiplexed: 0, 'y-websocket': 0, peer: 0 },
    });
  });

  it('closes only the connection that sent an unappliable update', async () => {
    const core = makeCore();
    const bad = connectMux(core);
    const good = connectMux(core);
    for (const c of [bad, good]) {
      c.handler.receive(encodeDoc('w1/n1', encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))));
      await c.conn.waitFor(() => (framesOf(c.conn, FrameType.Docs).length ? true : undefined));
    }
    bad.handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(new Uint8Array([0xff, 0xff, 0x7f]))));
    // The y-websocket message is well-formed; the Yjs update inside it is not.
    expect(bad.conn.closedWith?.code).toBe(CloseCode.UpdateRejected);
    expect(bad.conn.closedWith?.reason).toMatch(/^doc w1\/n1: /);

    const yws = connectYws(core, 'w1/n1');
    await yws.conn.waitFor(() => (yws.conn.sent.length ? true : undefined));
    yws.handler.receive(new Uint8Array([9, 9]));
    expect(yws.conn.closedWith?.code).toBe(CloseCode.MalformedFrame);

    good.conn.clear();
    const doc = new Y.Doc();
    good.handler.receive(encodeDoc('w1/n1', encodeSyncUpdate(edit(doc, 'still fine')), 1));
    await good.conn.waitFor(() => (framesOf(good.conn, FrameType.Ack).length ? true : undefined));
    expect(good.conn.closedWith).toBeUndefined();
    expect(core.stats().connections).toBe(1);
    await core.close();
  });

  it('reports a doc that cannot be loaded without affecting other docs', async () => {
    const inner = new MemoryStorage();
    const storage: StorageAdapter = {
      ...bindAll(inner),
      load: (name) =>
        name === 'broken' ? Promise.reject(new Error('io error')) : inner.load(name),
    };
    const core = makeCore(storage);
    const { conn, handler } = connectMux(core);
    const sv = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));
    handler.receive(
      encodeDocs([
        { docName: 'broken', message: sv },
        { docName: 'fine', message: sv },
      ]),
    );
    await conn.waitFor(() => (framesOf(conn, FrameType.Docs).length ? true : undefined));
    expect(framesOf(conn, FrameType.DocError)).toEqual([
      {
        type: FrameType.DocError,
        docName: 'broken',
        code: DocErrorCode.Internal,
        reason: 'doc could not be loaded',
      },
    ]);
    expect(framesOf(conn, FrameType.Docs)[0]!.messages.map((m) => m.docName)).toEqual([
      'fine',
      'fine',
    ]);
    const yws = connectYws(core, 'broken');
    await yws.conn.waitFor(() => yws.conn.closedWith);
    expect(yws.conn.closedWith?.code).toBe(CloseCode.InternalError);
    expect(core.stats().rooms).toBe(1);
    await core.close();
  });
});

describe('RelayCore lifecycle', () => {
  it('close() flushes pending commits, closes sockets with GoingAway and refuses new ones', async () => {
    const storage = new MemoryStorage();
    const core = makeCore(storage, { commitWindowMs: 10_000 });
    const mux = connectMux(core);
    const yws = connectYws(core, 'w1/n1');
    await yws.conn.waitFor(() => (yws.conn.sent.length ? true : undefined));
    const doc = new Y.Doc();
    yws.handler.receive(encodeSyncUpdate(edit(doc, 'unflushed')));
    await core.close();
    expect(mux.conn.closedWith?.code).toBe(CloseCode.GoingAway);
    expect(yws.conn.closedWith?.code).toBe(CloseCode.GoingAway);
    expect((await storage.load('w1/n1')).updates).toHaveLength(1);
    expect(core.stats()).toEqual({
      rooms: 0,
      connections: 0,
      connectionsByKind: { multiplexed: 0, 'y-websocket': 0, peer: 0 },
    });
    const late = new RecordingConnection();
    core.acceptMultiplexed(late).receive(HELLO);
    expect(late.closedWith?.code).toBe(CloseCode.GoingAway);
    expect(late.sent).toEqual([]);
  });

  it('reloads a room that went idle, with everything stored', async () => {
    const storage = new MemoryStorage();
    const core = makeCore(storage, { idleUnloadMs: 5 });
    const doc = new Y.Doc();
    const first = connectYws(core, 'w1/n1');
    await first.conn.waitFor(() => (first.conn.sent.length ? true : undefined));
    first.handler.receive(encodeSyncUpdate(edit(doc, 'persisted')));
    first.handler.closed();
    const until = Date.now() + 2000;
    while (core.stats().rooms > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
    expect(core.stats().rooms).toBe(0);
    const second = connectYws(core, 'w1/n1');
    await second.conn.waitFor(() => (second.conn.sent.length ? true : undefined));
    second.handler.receive(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
    const copy = new Y.Doc();
    for (const u of syncMessages(second.conn.yMessages(), SyncStep.Step2)) Y.applyUpdate(copy, u);
    expect(copy.getText('body').toString()).toBe('persisted');
    await core.close();
  });

  it('rejects nonsensical options', () => {
    expect(() => new RelayCore({ storage: new MemoryStorage(), commitWindowMs: -1 })).toThrow(
      RangeError,
    );
    expect(
      () =>
        new RelayCore({
          storage: new MemoryStorage(),
          heartbeatIntervalMs: 100,
          heartbeatTimeoutMs: 100,
        }),
    ).toThrow(/heartbeatTimeoutMs/);
  });
});

describe('RelayCore liveness', () => {
  it('probes multiplexed peers and drops a silent one, freeing its awareness', async () => {
    const core = makeCore(new MemoryStorage(), { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 80 });
    const silent = connectMux(core);
    const alive = connectMux(core);
    const silentDoc = new Y.Doc();
    const aware = awarenessOf(silentDoc, { user: 'gone quiet' });
    for (const c of [silent, alive]) {
      c.handler.receive(encodeDoc('w1', encodeSyncStep1(Y.encodeStateVector(new Y.Doc())), 1));
      await c.conn.waitFor(() => (framesOf(c.conn, FrameType.Docs).length ? true : undefined));
    }
    silent.handler.receive(encodeDoc('w1', aware.message));
    expect(clientIdsIn(alive.conn.docMessages('w1')).has(silentDoc.clientID)).toBe(true);
    // `alive` answers every probe (any frame would do); `silent` never sends again.
    let answered = 0;
    const answer = setInterval(() => {
      const probes = framesOf(alive.conn, FrameType.Heartbeat).filter((f) => !f.reply);
      for (const probe of probes.slice(answered)) {
        alive.handler.receive(encodeHeartbeat(probe.nonce, true));
      }
      answered = probes.length;
    }, 5);
    try {
      const started = performance.now();
      await silent.conn.waitFor(() => silent.conn.closedWith, 1000);
      const after = performance.now() - started;
      expect(silent.conn.closedWith?.code).toBe(CloseCode.HeartbeatTimeout);
      expect(after).toBeGreaterThanOrEqual(60);
      expect(after).toBeLessThan(80 + 20 + 50);
      // The silent peer got probes it never answered.
      expect(framesOf(silent.conn, FrameType.Heartbeat).some((f) => !f.reply)).toBe(true);
      // Its awareness state is gone for everyone else.
      expect(clientIdsIn(alive.conn.docMessages('w1')).has(silentDoc.clientID)).toBe(false);
      await new Promise((r) => setTimeout(r, 150));
      expect(alive.conn.closedWith).toBeUndefined();
      expect(answered).toBeGreaterThan(3);
      expect(core.stats().connections).toBe(1);
    } finally {
      clearInterval(answer);
      aware.awareness.destroy();
      await core.close();
    }
  });

  it('streams the answer to a large batch in bounded frames, pausing while the peer lags', async () => {
    const storage = new MemoryStorage();
    const names = Array.from({ length: 60 }, (_, i) => `w1/n${i}`);
    for (const name of names) {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, `${name} `.repeat(12_000)); // ~80 kB each
      await storage.append(name, [Y.encodeStateAsUpdate(doc)]);
    }
    const core = makeCore(storage);
    const { conn, handler } = connectMux(core);
    conn.clear();
    // A peer that reads slowly: 1 MB drains every 10 ms.
    let backlog = 0;
    let maxBacklog = 0;
    const send = conn.send.bind(conn);
    conn.send = (frame) => {
      send(frame);
      backlog += frame.length;
      maxBacklog = Math.max(maxBacklog, backlog);
    };
    Object.defineProperty(conn, 'bufferedAmount', { get: () => backlog });
    const reader = setInterval(() => {
      backlog = Math.max(0, backlog - TARGET_BATCH_BYTES);
    }, 10);
    // Heartbeats are answered while the stream waits for the peer.
    let heartbeatAnsweredDuringStream = false;
    try {
      const empty = Y.encodeStateVector(new Y.Doc());
      handler.receive(
        encodeDocs(names.map((docName) => ({ docName, seq: 1, message: encodeSyncStep1(empty) }))),
      );
      await new Promise((r) => setTimeout(r, 15));
      const before = conn.sent.length;
      handler.receive(encodeHeartbeat(5, false));
      heartbeatAnsweredDuringStream = framesOf(conn, FrameType.Heartbeat).some(
        (f) => f.nonce === 5,
      );
      await conn.waitFor(
        () =>
          names.every((n) =>
            conn
              .docMessages(n)
              .some((m) => m.type === YMessageType.Sync && m.step === SyncStep.Step1),
          )
            ? true
            : undefined,
        5000,
      );
      expect(before).toBeLessThan(conn.sent.length); // still streaming when the probe came
      expect(framesOf(conn, FrameType.Docs).length).toBeGreaterThan(3);
      for (const frame of conn.sent) {
        if (decodeFrame(frame).type === FrameType.Docs) {
          expect(frame.length).toBeLessThanOrEqual(TARGET_BATCH_BYTES + 100_000);
        }
      }
      // Never more than a few frames ahead of the reader.
      expect(maxBacklog).toBeLessThanOrEqual(3 * TARGET_BATCH_BYTES + 200_000);
      expect(heartbeatAnsweredDuringStream).toBe(true);
      const client = new Y.Doc();
      for (const u of syncMessages(conn.docMessages('w1/n59'), SyncStep.Step2)) {
        Y.applyUpdate(client, u);
      }
      expect(client.getText('body').toString()).toBe('w1/n59 '.repeat(12_000));
    } finally {
      clearInterval(reader);
      await core.close();
    }
  });
});

/** Drives a doc through the relay like a minimal front end, applying what comes back. */
class MuxPeer {
  readonly conn = new RecordingConnection();
  readonly handler: ConnectionHandler;
  readonly docs = new Map<string, Y.Doc>();
  #seen = 0;

  constructor(core: RelayCore) {
    this.handler = core.acceptMultiplexed(this.conn);
    this.handler.receive(HELLO);
  }

  open(docName: string): Y.Doc {
    const doc = new Y.Doc();
    this.docs.set(docName, doc);
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== this) this.handler.receive(encodeDoc(docName, encodeSyncUpdate(update)));
    });
    this.handler.receive(encodeDoc(docName, encodeSyncStep1(Y.encodeStateVector(doc))));
    return doc;
  }

  drain(): void {
    for (; this.#seen < this.conn.sent.length; this.#seen++) {
      const frame = this.conn.frames()[this.#seen]!;
      if (frame.type !== FrameType.Docs) continue;
      for (const { docName, message } of frame.messages) {
        const doc = this.docs.get(docName);
        const y = decodeYMessage(message);
        if (doc === undefined || y.type !== YMessageType.Sync) continue;
        if (y.step === SyncStep.Step1) {
          this.handler.receive(
            encodeDoc(docName, encodeSyncStep2(Y.encodeStateAsUpdate(doc, y.payload))),
          );
        } else {
          Y.applyUpdate(doc, y.payload, this);
        }
      }
    }
  }
}

describe('RelayCore convergence (randomized)', () => {
  it('peers and storage converge on every doc', async () => {
    const seed = Number(process.env.RELAY_SEED ?? Date.now() % 2 ** 31);
    const docNames = ['w1', 'w1/a', 'w1/b'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            peer: fc.nat(2),
            doc: fc.nat(docNames.length - 1),
            at: fc.nat(50),
            text: fc.string({ minLength: 1, maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (ops) => {
          const storage = new MemoryStorage();
          const core = makeCore(storage, { compactAfterUpdates: 7 });
          const peers = [new MuxPeer(core), new MuxPeer(core), new MuxPeer(core)];
          for (const p of peers) for (const name of docNames) p.open(name);
          await new Promise((r) => setTimeout(r, 0));
          for (const op of ops) {
            for (const p of peers) p.drain();
            const doc = peers[op.peer]!.docs.get(docNames[op.doc]!)!;
            const body = doc.getText('body');
            body.insert(Math.min(op.at, body.length), op.text);
          }
          await new Promise((r) => setTimeout(r, 5));
          for (const p of peers) p.drain();
          await core.close();
          for (const name of docNames) {
            const texts = peers.map((p) => p.docs.get(name)!.getText('body').toString());
            expect(new Set(texts).size).toBe(1);
            const stored = new Y.Doc();
            for (const u of (await storage.load(name)).updates) Y.applyUpdate(stored, u);
            expect(stored.getText('body').toString()).toBe(texts[0]);
          }
        },
      ),
      { seed, numRuns: 40 },
    );
  });
});

function bindAll(storage: StorageAdapter): StorageAdapter {
  return {
    load: (n) => storage.load(n),
    append: (n, u) => storage.append(n, u),
    compact: (n, s, c) => storage.compact(n, s, c),
    list: (p) => storage.list(p),
    delete: (n) => storage.delete(n),
    getMeta: (k) => storage.getMeta(k),
    setMeta: (k, v) => storage.setMeta(k, v),
    close: () => storage.close(),
  };
}
