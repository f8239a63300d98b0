import { type AddressInfo, createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { TransportCloseEvent } from '../ports.ts';
import {
  CloseCode,
  decodeFrame,
  encodeHello,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '../protocol.ts';
import { Replica } from '../Replica.ts';
import { RelayCore } from '../relay/RelayCore.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { WebSocketTransport } from './WebSocketTransport.ts';

const WS = WebSocket as unknown as typeof globalThis.WebSocket;

let core: RelayCore;
let server: WebSocketServer;
let url: string;

beforeEach(async () => {
  core = new RelayCore({ storage: new MemoryStorage() });
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/sync' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => {
    const handler = core.acceptMultiplexed({
      send: (frame) => socket.send(frame),
      close: (code, reason) => socket.close(code, reason),
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
    });
    socket.on('message', (data: Buffer) =>
      handler.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    );
    socket.on('close', () => handler.closed());
  });
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/sync`;
});

afterEach(async () => {
  await core.close();
  for (const client of server.clients) client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function closed(transport: WebSocketTransport): Promise<TransportCloseEvent> {
  return new Promise((resolve) => {
    transport.onClose = resolve;
  });
}

describe('WebSocketTransport', () => {
  it('exchanges binary frames with a relay and closes once', async () => {
    const t = new WebSocketTransport(url, WS);
    const frames: Uint8Array[] = [];
    t.onMessage = (f) => frames.push(f);
    const opened = new Promise<void>((resolve) => {
      t.onOpen = resolve;
    });
    t.connect();
    expect(t.state).toBe('connecting');
    await opened;
    expect(t.state).toBe('open');
    t.send(encodeHello({ protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, role: 'client' }));
    await new Promise<void>((resolve) => {
      t.onMessage = (f) => {
        frames.push(f);
        resolve();
      };
    });
    const hello = decodeFrame(frames[0]!);
    expect(hello.type).toBe(FrameType.Hello);
    let closes = 0;
    t.onClose = () => closes++;
    t.close(CloseCode.Normal, 'done');
    t.close();
    expect(t.state).toBe('closed');
    expect(closes).toBe(1);
    expect(() => t.connect()).toThrow(/already used/);
  });

  it('reports an unreachable relay or a bad URL as a close, not a throw', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const refused = new WebSocketTransport(`ws://127.0.0.1:${port}/sync`, WS);
    const refusedClose = closed(refused);
    refused.connect();
    expect((await refusedClose).code).toBeGreaterThanOrEqual(1000);

    const bad = new WebSocketTransport('not a url', WS);
    const badClose = closed(bad);
    bad.connect();
    expect((await badClose).code).toBe(1006);
  });

  it('relays close codes from the relay', async () => {
    const t = new WebSocketTransport(url, WS);
    const opened = new Promise<void>((resolve) => {
      t.onOpen = resolve;
    });
    const onClose = closed(t);
    t.connect();
    await opened;
    t.send(new Uint8Array([0xff, 0xff])); // not a Hello
    expect((await onClose).code).toBe(CloseCode.MalformedFrame);
  });

  it('carries a Replica session end to end', async () => {
    const options = {
      relays: [url],
      transportFactory: (u: string) => new WebSocketTransport(u, WS),
    };
    const a = new Replica({ storage: new MemoryStorage(), ...options });
    const b = new Replica({ storage: new MemoryStorage(), ...options });
    try {
      const [ha, hb] = await Promise.all([a.open('w/ws'), b.open('w/ws')]);
      ha.doc.getText('body').insert(0, 'over ws');
      await a.whenSynced();
      const deadline = Date.now() + 3000;
      while (hb.doc.getText('body').toString() !== 'over ws') {
        if (Date.now() > deadline) throw new Error('b never saw the edit');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(a.status).toEqual({ state: 'synced', pendingLocal: false });
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });
});
