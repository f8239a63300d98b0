import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CloseCode,
  encodeAwarenessMessage,
  encodeDoc,
  encodeHeartbeat,
  encodeSyncStep1,
  FrameType,
} from '@lattice/replication';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { FaultProxy } from '../../../e2e/harness/FaultProxy.ts';
import { type RunningRelay, startRelay } from './index.ts';
import { MuxWsClient } from './testing/index.ts';
import { httpGet, useTestRelays } from './testing/relayFixture.ts';

const { start, tempDir, defer } = useTestRelays('lattice-relay-', { auth: 'off' });

/** Attempts a WebSocket upgrade and resolves with the HTTP status that refused it. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => reject(new Error(`upgrade to ${url} was accepted`)));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        ws.terminate();
      });
    });
  });
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function provider(relay: RunningRelay, docName: string, doc: Y.Doc): WebsocketProvider {
  const p = new WebsocketProvider(`${relay.url.replace(/^http/, 'ws')}/ws`, docName, doc, {
    // Without this, two providers in one process would sync over BroadcastChannel
    // and the test would pass without the relay.
    disableBc: true,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  defer(() => p.destroy());
  return p;
}

function muxClient(relay: RunningRelay, baseUrl = relay.url): MuxWsClient {
  const client = new MuxWsClient(baseUrl);
  defer(() => client.close());
  return client;
}

/**
 * A multiplexed client on doc `w1` with an awareness state, and a stock
 * y-websocket provider on the same doc that sees it; resolves once it does.
 */
async function presentPair(
  relay: RunningRelay,
  baseUrl = relay.url,
): Promise<{ client: MuxWsClient; clientId: number; watcher: WebsocketProvider }> {
  const client = muxClient(relay, baseUrl);
  await client.hello();
  const doc = client.sync('w1');
  const awareness = new Awareness(doc);
  defer(() => awareness.destroy());
  awareness.setLocalState({ user: 'leaving' });
  await client.sendRaw(
    encodeDoc('w1', encodeAwarenessMessage(encodeAwarenessUpdate(awareness, [doc.clientID]))),
  );
  const watcher = provider(relay, 'w1', new Y.Doc());
  await until(() => watcher.awareness.getStates().get(doc.clientID)?.user === 'leaving');
  return { client, clientId: doc.clientID, watcher };
}

/** Blocks this process (the relay and every client in it) for `ms`. */
function stallFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy on purpose: a long task, as a large compaction or GC pause would be.
  }
}

describe('relay HTTP', () => {
  it('reports health', async () => {
    const relay = await start();
    const res = await httpGet(`${relay.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body);
    expect(body).toEqual({
      ok: true,
      relayId: relay.core.relayId,
      uptimeS: expect.any(Number),
      rooms: 0,
      connections: 0,
      connectionsByKind: { multiplexed: 0, 'y-websocket': 0, peer: 0 },
    });
  });

  it('answers plain HTTP on WebSocket endpoints with 426', async () => {
    const relay = await start();
    for (const path of ['/ws/w1/n1', '/sync']) {
      const res = await httpGet(`${relay.url}${path}`);
      expect(res.status).toBe(426);
      expect(res.body).toMatch(/WebSocket/);
    }
  });

  it('refuses upgrades on unknown paths with 404 and invalid doc names with 400', async () => {
    const relay = await start();
    const ws = relay.url.replace(/^http/, 'ws');
    expect((await refusedUpgrade(`${ws}/nope`)).status).toBe(404);
    expect((await refusedUpgrade(`${ws}/ws/w1%2F%2Fn1`)).status).toBe(400);
    const badEncoding = await refusedUpgrade(`${ws}/ws/%E0%A4%A`);
    expect(badEncoding.status).toBe(400);
    expect(badEncoding.body).toMatch(/invalid doc name/);
    // The relay still serves after refusing.
    expect((await httpGet(`${relay.url}/healthz`)).status).toBe(200);
  });

  it('says the web app is not built when the web dir is missing', async () => {
    const relay = await start();
    const res = await httpGet(`${relay.url}/`);
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/web app not built: run pnpm build/);
    // A half-written build (no index.html yet) is not served either.
    const partial = await tempDir();
    await writeFile(join(partial, 'sw.js'), '');
    const other = await start({ webDir: partial });
    expect((await httpGet(`${other.url}/sw.js`)).status).toBe(503);
  });

  it('serves the web app with content types, caching and SPA fallback, never outside it', async () => {
    const root = await tempDir();
    const webDir = join(root, 'dist');
    await mkdir(join(webDir, 'assets'), { recursive: true });
    await writeFile(join(webDir, 'index.html'), '<!doctype html><title>Lattice</title>');
    await writeFile(join(webDir, 'sw.js'), 'self.addEventListener("fetch", () => {});');
    await writeFile(join(webDir, 'assets', 'index-AbC123xy.js'), 'console.log(1);');
    await writeFile(join(webDir, 'manifest.webmanifest'), '{}');
    await writeFile(join(root, 'secret.txt'), 'do not serve');
    const relay = await start({ webDir });

    const index = await httpGet(`${relay.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.body).toContain('<title>Lattice</title>');

    const sw = await httpGet(`${relay.url}/sw.js`);
    expect(sw.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(sw.headers['cache-control']).toBe('no-cache');

    const asset = await httpGet(`${relay.url}/assets/index-AbC123xy.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    const manifest = await httpGet(`${relay.url}/manifest.webmanifest`);
    expect(manifest.headers['content-type']).toMatch(/^application\/manifest\+json/);

    const route = await httpGet(`${relay.url}/w/abc/def`);
    expect(route.status).toBe(200);
    expect(route.body).toContain('<title>Lattice</title>');

    expect((await httpGet(`${relay.url}/missing.png`)).status).toBe(404);
    for (const path of ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await httpGet(`${relay.url}${path}`);
      expect(res.body).not.toContain('do not serve');
      expect(res.status).toBe(404);
    }
  });
});

describe('relay WebSocket sync', () => {
  it('lets stock y-websocket providers and a multiplexed client collaborate in one room', async () => {
    const relay = await start();
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    const a = provider(relay, 'w1/n1', docA);
    const b = provider(relay, 'w1/n1', docB);
    const mux = muxClient(relay);
    await mux.hello();
    const docM = mux.sync('w1/n1');

    docA.getText('body').insert(0, 'from A. ');
    await until(() => docB.getText('body').toString() === 'from A. ');
    docB.getText('body').insert(8, 'from B. ');
    docM.getText('body').insert(0, '[mux] ');
    const expected = '[mux] from A. from B. ';
    await until(() => [docA, docB, docM].every((d) => d.getText('body').toString() === expected));

    // Awareness flows between stock providers and reaches the multiplexed client too.
    a.awareness.setLocalStateField('user', { name: 'Ada' });
    await until(() => b.awareness.getStates().get(docA.clientID)?.user?.name === 'Ada');
    const awarenessToMux = () =>
      mux.frames.some(
        (f) =>
          f.type === FrameType.Docs &&
          f.messages.some((m) => m.docName === 'w1/n1' && m.message[0] === 1),
      );
    await until(awarenessToMux);

    // Durable acks reach the multiplexed client only.
    await mux.waitFor(() => mux.frames.find((f) => f.type === FrameType.Ack));
    expect(relay.core.stats()).toEqual({
      rooms: 1,
      connections: 3,
      connectionsByKind: { multiplexed: 1, 'y-websocket': 2, peer: 0 },
    });

    // A provider that leaves takes its awareness state with it.
    a.destroy();
    await until(() => !b.awareness.getStates().has(docA.clientID));
  });

  it('serves everything again after a restart on the same data dir', async () => {
    const dataDir = await tempDir();
    const first = await start({ dataDir });
    const relayId = first.core.relayId;
    const docA = new Y.Doc();
    const a = provider(first, 'w1/n1', docA);
    await until(() => a.synced);
    docA.getText('body').insert(0, 'survives restart');
    const mux = muxClient(first);
    await mux.hello();
    const index = mux.sync('w1');
    index.getMap('notes').set('n1', 'title');
    await mux.waitFor(() => mux.frames.find((f) => f.type === FrameType.Ack && f.seq >= 2));
    await until(() => first.core.stats().rooms === 2);
    a.destroy();
    await first.close();

    const second = await start({ dataDir });
    expect(second.core.relayId).toBe(relayId);
    const docB = new Y.Doc();
    const b = provider(second, 'w1/n1', docB);
    await until(() => b.synced && docB.getText('body').toString() === 'survives restart');
    const again = muxClient(second);
    await again.hello();
    const index2 = again.sync('w1');
    await until(() => index2.getMap('notes').get('n1') === 'title');
  });

  it('closes a socket whose first frame is malformed with 4400; others keep working', async () => {
    const relay = await start();
    const good = muxClient(relay);
    await good.hello();
    const bad = muxClient(relay);
    await bad.sendRaw(new Uint8Array([0x7f, 0x01, 0x02]));
    const closed = await bad.closed;
    expect(closed.code).toBe(CloseCode.MalformedFrame);
    expect(closed.reason).toMatch(/frame/);

    const wrongFirst = muxClient(relay);
    await wrongFirst.sendRaw(encodeDoc('w1', encodeSyncStep1(new Uint8Array([0]))));
    expect((await wrongFirst.closed).code).toBe(CloseCode.MalformedFrame);

    await good.sendRaw(encodeHeartbeat(9, false));
    await good.waitFor(() =>
      good.frames.find((f) => f.type === FrameType.Heartbeat && f.nonce === 9 && f.reply),
    );
    const doc = good.sync('w1/n1');
    doc.getText('body').insert(0, 'ok');
    await good.waitFor(() => good.frames.find((f) => f.type === FrameType.Ack));
  });

  it('closes sockets with GoingAway when the relay shuts down', async () => {
    const relay = await startRelay({
      auth: 'off',
      port: 0,
      dataDir: await tempDir(),
      webDir: await tempDir(),
    });
    const client = new MuxWsClient(relay.url);
    await client.hello();
    await relay.close();
    expect((await client.closed).code).toBe(CloseCode.GoingAway);
    await expect(httpGet(`${relay.url}/healthz`)).rejects.toThrow();
  });

  it('drops a socket that stops answering WebSocket pings, freeing its awareness', async () => {
    const relay = await start({ pingIntervalMs: 40, livenessTimeoutMs: 120 });
    // A plain y-websocket client that never answers pings (a dead peer behind a live TCP socket).
    const silent = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/ws/w1`, { autoPong: false });
    await new Promise((resolve) => silent.once('open', resolve));
    const closed = new Promise<number>((resolve) =>
      silent.on('close', () => resolve(performance.now())),
    );
    const silentDoc = new Y.Doc();
    const silentAwareness = new Awareness(silentDoc);
    silentAwareness.setLocalState({ user: 'silent' });
    silent.send(
      encodeAwarenessMessage(encodeAwarenessUpdate(silentAwareness, [silentDoc.clientID])),
    );
    const sentAt = performance.now();
    // A stock provider (its socket answers pings by itself) and a multiplexed client stay.
    const watcher = provider(relay, 'w1', new Y.Doc());
    await until(() => watcher.awareness.getStates().get(silentDoc.clientID)?.user === 'silent');
    const answering = muxClient(relay);
    await answering.hello();
    const closedAt = await closed;
    // Terminated once silent for the liveness timeout: within it plus two sweeps (and slack).
    expect(closedAt - sentAt).toBeLessThan(120 + 2 * 40 + 200);
    await until(() => !watcher.awareness.getStates().has(silentDoc.clientID));
    await new Promise((r) => setTimeout(r, 150));
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(watcher.wsconnected).toBe(true);
    await until(() => relay.core.stats().connections === 2);
    silentAwareness.destroy();
  });

  it('drops a client whose link goes dark within seconds (default rule), its awareness with it', async () => {
    const relay = await start();
    const proxy = await FaultProxy.start(relay.port);
    defer(() => proxy.close());
    const { client, clientId, watcher } = await presentPair(relay, proxy.url);
    // Healthy but idle: says Hello and then nothing, only answers pings.
    const idle = muxClient(relay);
    await idle.hello();
    const darkAt = performance.now();
    proxy.blackhole();
    await until(() => !watcher.awareness.getStates().has(clientId), 10_000);
    const goneMs = performance.now() - darkAt;
    // 4 sweeps in a row (1 s apart) without a byte: 4–5 s after the last one (slack for load).
    expect(goneMs).toBeGreaterThanOrEqual(3_000);
    expect(goneMs).toBeLessThan(6_000 + 1_000);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect(idle.ws.readyState).toBe(WebSocket.OPEN);
    expect(watcher.wsconnected).toBe(true);
    await until(() => relay.core.stats().connections === 2);
    // Its side never learns (the proxy holds the relay's reset): end it here.
    client.ws.terminate();
  }, 20_000);

  it("does not count a stall of the relay itself as the sockets' silence", async () => {
    const relay = await start({ pingIntervalMs: 50, livenessTimeoutMs: 400 });
    const { client, watcher } = await presentPair(relay);
    // Sends one frame and never answers a ping: silent from here on, for real.
    const silent = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/ws/w1`, { autoPong: false });
    defer(() => silent.terminate());
    await new Promise((resolve) => silent.once('open', resolve));
    let closedAt: number | undefined;
    silent.on('close', () => {
      closedAt = performance.now();
    });
    await new Promise((r) => setTimeout(r, 100));
    // A long task (a large compaction, a GC pause) longer than the timeout: the sweep after
    // it must not read the stall as 600 ms of silence from every socket.
    stallFor(600);
    const stallEnd = performance.now();
    await new Promise((r) => setTimeout(r, 150));
    expect(closedAt).toBeUndefined();
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect(watcher.wsconnected).toBe(true);
    // The rule itself still holds afterwards: silent for the timeout after the stall.
    await until(() => closedAt !== undefined, 3_000);
    expect((closedAt as number) - stallEnd).toBeGreaterThanOrEqual(150);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('ends the session of a client whose Close arrived though its TCP close never does', async () => {
    // A long liveness timeout: only the Close can explain a quick removal.
    const relay = await start({ pingIntervalMs: 50, livenessTimeoutMs: 10_000 });
    const { client, clientId, watcher } = await presentPair(relay);
    // The client stops reading, then closes: the relay's Close and FIN sit unread, so the
    // client never ends its side and the relay's socket would wait 30 s for it.
    const socket = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const closedAt = performance.now();
    client.ws.close();
    await until(() => !watcher.awareness.getStates().has(clientId), 3_000);
    expect(performance.now() - closedAt).toBeLessThan(50 + 500);
    expect(relay.core.stats().connections).toBe(1);
    socket.destroy();
  });
});
