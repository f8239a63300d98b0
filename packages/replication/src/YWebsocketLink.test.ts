import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer, WebSocket as WsClient } from 'ws';
import * as Y from 'yjs';
import type { Transport, TransportFactory } from './ports.ts';
import { Replica, type ReplicaOptions } from './Replica.ts';
import { RelayCore } from './relay/RelayCore.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { type DeliverySchedule, MemoryTransport } from './transport/MemoryTransport.ts';
import { WebSocketTransport } from './transport/WebSocketTransport.ts';

// The stock y-websocket server (y-websocket@2.1.0's bin/utils, installed as `y-websocket-server`).
const require = createRequire(import.meta.url);
const { setupWSConnection } = require('y-websocket-server/bin/utils') as {
  setupWSConnection: (conn: WebSocket, req: IncomingMessage) => void;
};

const WS = WsClient as unknown as typeof globalThis.WebSocket;

interface StockServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stockServer(port = 0): Promise<StockServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (conn, req) => setupWSConnection(conn, req));
  const bound = (wss.address() as AddressInfo).port;
  let closed = false;
  const server: StockServer = {
    url: `ws://127.0.0.1:${bound}`,
    port: bound,
    async close() {
      if (closed) return;
      closed = true;
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  cleanups.push(() => server.close());
  return server;
}

/** Unique doc names: the stock server keeps docs in one process-wide map. */
let unique = 0;
function docName(label: string): string {
  unique++;
  return `ws${Date.now().toString(36)}${unique}/${label}`;
}

/** Counts open doc sockets (now and at most). */
function countingFactory(inner: TransportFactory): TransportFactory & {
  open: number;
  maxOpen: number;
  urls: string[];
} {
  const factory = ((url: string) => {
    factory.urls.push(url);
    const t = inner(url);
    let counted = false;
    const wrapped: Transport = {
      get state() {
        return t.state;
      },
      get bufferedAmount() {
        return t.bufferedAmount;
      },
      onOpen: null,
      onMessage: null,
      onClose: null,
      connect: () => t.connect(),
      send: (frame) => t.send(frame),
      close: (code, reason) => t.close(code, reason),
    };
    t.onOpen = () => {
      counted = true;
      factory.open++;
      factory.maxOpen = Math.max(factory.maxOpen, factory.open);
      wrapped.onOpen?.();
    };
    t.onMessage = (frame) => wrapped.onMessage?.(frame);
    t.onClose = (event) => {
      if (counted) factory.open--;
      counted = false;
      wrapped.onClose?.(event);
    };
    return wrapped;
  }) as TransportFactory & { open: number; maxOpen: number; urls: string[] };
  factory.open = 0;
  factory.maxOpen = 0;
  factory.urls = [];
  return factory;
}

function replica(server: { url: string }, options: Partial<ReplicaOptions> = {}): Replica {
  const r = new Replica({
    storage: new MemoryStorage(),
    relays: [{ url: server.url, protocol: 'y-websocket' }],
    transportFactory: (url) => new WebSocketTransport(url, WS),
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1000,
    backoff: { baseMs: 20, maxMs: 200 },
    onError: () => {},
    ...options,
  });
  cleanups.push(() => r.destroy());
  return r;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const text = (doc: Y.Doc) => doc.getText('body').toString();

describe('Replica against the stock y-websocket server', () => {
  it('collaborates through it: edits and awareness both ways, one socket per doc', async () => {
    const server = await stockServer();
    const name = docName('note');
    const factory = countingFactory((url) => new WebSocketTransport(url, WS));
    const a = replica(server, { transportFactory: factory });
    const b = replica(server);
    const [ha, hb] = await Promise.all([a.open(name), b.open(name)]);
    ha.doc.getText('body').insert(0, 'from a. ');
    await until(() => text(hb.doc) === 'from a. ', 'b sees a');
    hb.doc.getText('body').insert(8, 'from b.');
    await until(() => text(ha.doc) === 'from a. from b.', 'a sees b');
    ha.awareness.setLocalStateField('user', 'ann');
    await until(() => hb.awareness.getStates().get(ha.doc.clientID)?.user === 'ann', 'awareness');
    expect(factory.urls).toEqual([`${server.url}/${name}`]);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    expect(a.replicationInfo().relays).toEqual([
      {
        url: server.url,
        protocol: 'y-websocket',
        relayId: null,
        state: 'connected',
        lastAckAt: expect.any(Number),
        heartbeatRttMs: expect.any(Number),
      },
    ]);
    ha.release();
    await until(() => !hb.awareness.getStates().has(ha.doc.clientID), 'awareness withdrawn');
  });

  it('counts a change delivered once a sync step 1 sent after it came back answered', async () => {
    const server = await stockServer();
    const name = docName('delivery');
    const a = replica(server);
    const ha = await a.open(name);
    await a.whenSynced();
    ha.doc.getText('body').insert(0, 'delivered?');
    expect(a.status.pendingLocal).toBe(true);
    await a.whenAcked();
    // "Delivered" is honest: a brand-new client reads it from the server right away.
    const probe = new WsClient(`${server.url}/${name}`);
    const got = new Y.Doc();
    probe.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      // messageSync (0), step 2 (1) or update (2): apply the payload.
      if (bytes[0] === 0 && (bytes[1] === 1 || bytes[1] === 2)) {
        Y.applyUpdate(got, readPayload(bytes));
      }
    });
    await new Promise((resolve) => probe.once('open', resolve));
    probe.send(new Uint8Array([0, 0, 1, 0])); // sync step 1 with an empty state vector
    await until(() => text(got) === 'delivered?', 'server holds the change');
    probe.close();
    const info = a.docReplicationInfo(name);
    expect(info.pendingLocal).toBe(false);
    expect(info.acked[0]!.stateVector).toEqual([{ clientId: ha.doc.clientID, clock: 10 }]);
  });

  it('re-uploads offline edits to a restarted (empty) server and converges', async () => {
    let server = await stockServer();
    const port = server.port;
    const name = docName('offline');
    const a = replica(server);
    const ha = await a.open(name);
    ha.doc.getText('body').insert(0, 'before. ');
    await a.whenAcked();
    await server.close();
    await until(() => a.status.state !== 'synced', 'outage noticed');
    ha.doc.getText('body').insert(8, 'offline.');
    expect(a.status.pendingLocal).toBe(true);
    // The stock server keeps docs in memory only: it comes back empty.
    server = await stockServer(port);
    a.reconnect();
    await a.whenAcked();
    await a.whenSynced();
    const b = replica(server);
    const hb = await b.open(name);
    await until(() => text(hb.doc) === 'before. offline.', 'fresh client sees everything');
  });

  it('caps background doc sockets and takes turns until every doc is synced', async () => {
    const server = await stockServer();
    const names = Array.from({ length: 12 }, (_, i) => docName(`bg${i}`));
    const writer = replica(server);
    for (const [i, n] of names.entries()) {
      const h = await writer.open(n);
      h.doc.getText('body').insert(0, `body ${i}`);
    }
    await writer.whenAcked();
    const factory = countingFactory((url) => new WebSocketTransport(url, WS));
    const reader = replica(server, { transportFactory: factory, maxBackgroundSockets: 3 });
    const open = await reader.open(names[0]!);
    for (const n of names.slice(1)) reader.track(n);
    await reader.whenSynced();
    expect(text(open.doc)).toBe('body 0');
    for (const [i, n] of names.entries()) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await reader.readStored(n));
      expect(text(doc)).toBe(`body ${i}`);
    }
    // The open doc's socket plus at most three background ones at any time.
    expect(factory.maxOpen).toBeLessThanOrEqual(1 + 3);
    expect(new Set(factory.urls).size).toBe(names.length);
    // The open doc keeps its socket: live edits arrive without waiting for a turn.
    const hw = await writer.open(names[0]!);
    hw.doc.getText('body').insert(0, 'live ');
    await until(() => text(open.doc) === 'live body 0', 'live edit on the open doc');
  });
});

describe('Replica in y-websocket mode (in memory)', () => {
  /** y-websocket doc sockets to a RelayCore's plain endpoint, with a delivery schedule. */
  function memoryServer(schedule?: DeliverySchedule) {
    const core = new RelayCore({ storage: new MemoryStorage() });
    cleanups.push(() => core.close());
    const base = 'memory://yws';
    const transports: MemoryTransport[] = [];
    const factory: TransportFactory = (url) => {
      const name = decodeURIComponent(url.slice(base.length + 1));
      const t = new MemoryTransport(
        (conn) => core.acceptYWebsocket(conn, name),
        schedule ? { schedule } : {},
      );
      transports.push(t);
      return t;
    };
    return { base, factory, transports };
  }

  it('does not count a change delivered by the answer to a step 1 sent before it', async () => {
    // Once armed, the next step 1 going up starts holding everything coming down,
    // so the first held frame is that step 1's answer.
    let arm = false;
    let holdDown = false;
    const held: (() => void)[] = [];
    const schedule: DeliverySchedule = (deliver, frame, direction) => {
      const isStep1 = frame[0] === 0 && frame[1] === 0;
      if (arm && direction === 'up' && isStep1) {
        arm = false;
        holdDown = true;
      }
      if (holdDown && direction === 'down') held.push(deliver);
      else setTimeout(deliver, 0);
    };
    const server = memoryServer(schedule);
    const a = replica(
      { url: server.base },
      { transportFactory: server.factory, heartbeatIntervalMs: 20, heartbeatTimeoutMs: 2000 },
    );
    const ha = await a.open('w/order');
    await a.whenSynced();
    arm = true;
    await until(() => holdDown, 'a heartbeat step 1 went up');
    ha.doc.getText('body').insert(0, 'after the probe');
    await new Promise((r) => setTimeout(r, 5));
    expect(held.length).toBeGreaterThanOrEqual(1);
    // The answer to the earlier step 1 arrives: it says nothing about the change.
    held.shift()?.();
    await new Promise((r) => setTimeout(r, 5));
    expect(a.status.pendingLocal).toBe(true);
    holdDown = false;
    for (const deliver of held.splice(0)) deliver();
    await a.whenAcked();
  });

  it('replaces a half-open doc socket within heartbeatTimeoutMs', async () => {
    const core = new RelayCore({ storage: new MemoryStorage() });
    cleanups.push(() => core.close());
    const base = 'memory://yws';
    const transports: MemoryTransport[] = [];
    const factory: TransportFactory = (url) => {
      const name = decodeURIComponent(url.slice(base.length + 1));
      const t = new MemoryTransport((conn) => core.acceptYWebsocket(conn, name));
      transports.push(t);
      return t;
    };
    const errors: Error[] = [];
    const options = {
      transportFactory: factory,
      heartbeatIntervalMs: 30,
      heartbeatTimeoutMs: 150,
      onError: (e: Error) => errors.push(e),
    };
    const a = replica({ url: base }, options);
    const b = replica({ url: base }, { ...options, onError: () => {} });
    const [ha, hb] = await Promise.all([a.open('w/hb'), b.open('w/hb')]);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    const before = transports.length;
    const silencedAt = performance.now();
    for (const t of transports) if (t.state === 'open') t.silence();
    await until(() => errors.some((e) => /silent/.test(e.message)), 'silence detected', 2000);
    const detected = performance.now() - silencedAt;
    expect(detected).toBeGreaterThanOrEqual(100);
    expect(detected).toBeLessThan(150 + 30 + 100);
    await a.whenSynced();
    expect(transports.length).toBeGreaterThan(before);
    ha.doc.getText('body').insert(0, 'after');
    await until(() => text(hb.doc) === 'after', 'edit over the new sockets');
  });
});

/** The payload of a y-websocket sync message (type, step, varuint length, bytes). */
function readPayload(bytes: Uint8Array): Uint8Array {
  let pos = 2;
  let length = 0;
  let shift = 1;
  for (;;) {
    const b = bytes[pos++]!;
    length += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  return bytes.subarray(pos, pos + length);
}
