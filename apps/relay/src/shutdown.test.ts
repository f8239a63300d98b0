import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloseCode } from '@lattice/replication';
import * as prng from 'lib0/prng';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRelay } from './index.ts';
import { MuxWsClient, relayStateArrived, SpawnedRelay, WriteStorm } from './testing/index.ts';

const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-shutdown-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await SpawnedRelay.killAll();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const DOCS = ['w1/a', 'w1/b', 'w2/c'];

/** Markers present in the relay's copy of each doc, read through a fresh client. */
async function storedMarkers(url: string): Promise<Set<string>> {
  const client = new MuxWsClient(url);
  await client.hello();
  const found = new Set<string>();
  for (const docName of DOCS) {
    const doc = client.sync(docName);
    await relayStateArrived(client, docName);
    for (const key of doc.getMap('markers').keys()) found.add(key);
  }
  await client.close();
  return found;
}

/** Opens a TCP connection and resolves once connected (an upgrade is written on it later). */
function rawConnection(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes a WebSocket upgrade request and resolves with the status line, or `'closed'`. */
function tryUpgrade(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (line?.[1] !== undefined) resolve(line[1]);
    });
    socket.on('error', () => resolve('closed'));
    socket.on('close', () => resolve('closed'));
    socket.write(
      'GET /sync HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

describe('graceful shutdown (SIGTERM, real relay process)', { timeout: 60_000 }, () => {
  it('acks everything sent before the signal, closes with GoingAway and exits 0', async () => {
    const dataDir = await tempDir();
    const relay = await SpawnedRelay.start({ dataDir });
    const storm = await WriteStorm.start({
      url: relay.url,
      clients: 4,
      docs: DOCS,
      random: prng.create(7),
      label: 'quiet',
      intervalMs: 2,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Stop writing and signal at once: the last commit windows are still open.
    storm.stop();
    const sent = storm.edits.length;
    relay.kill('SIGTERM');
    const closes = await Promise.all(storm.clients.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual(storm.clients.map(() => CloseCode.GoingAway));
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(sent).toBeGreaterThan(50);
    // Before the fix the sockets closed ahead of the flush: the last commits were stored, never acked.
    expect(storm.acked().length).toBe(sent);

    const again = await SpawnedRelay.start({ dataDir });
    const stored = await storedMarkers(again.url);
    for (const edit of storm.edits) expect(stored.has(edit.marker)).toBe(true);
    again.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('under a steady write storm: acked or stored, 1001, exit 0, new connections refused', async () => {
    const dataDir = await tempDir();
    const relay = await SpawnedRelay.start({ dataDir });
    const storm = await WriteStorm.start({
      url: relay.url,
      clients: 6,
      docs: DOCS,
      random: prng.create(11),
      label: 'storm',
      intervalMs: 1,
    });
    const early = await rawConnection(relay.url);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sentBefore = storm.edits.slice();
    relay.kill('SIGTERM');
    // The storm keeps writing while the relay shuts down.
    const closes = await Promise.all(storm.clients.map((c) => c.closed));
    // An upgrade on a connection made before the signal: 503 while closing, or the socket is cut.
    const status = await tryUpgrade(early);
    expect(['503', 'closed']).toContain(status);
    storm.stop();
    expect(closes.map((c) => c.code)).toEqual(storm.clients.map(() => CloseCode.GoingAway));
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    // Listening stopped: a fresh connection is refused.
    await expect(rawConnection(relay.url)).rejects.toThrow(/ECONNREFUSED/);

    const acked = new Set(storm.acked().map((e) => e.marker));
    const again = await SpawnedRelay.start({ dataDir });
    const stored = await storedMarkers(again.url);
    const lost = sentBefore.filter((e) => !acked.has(e.marker) && !stored.has(e.marker));
    expect(lost).toEqual([]);
    // Every acked edit is stored.
    for (const marker of acked) expect(stored.has(marker)).toBe(true);
    again.kill('SIGTERM');
    await again.exited;
  });
});

describe('RelayServer.close', () => {
  it('answers upgrades that arrive while it shuts down with 503', async () => {
    const relay = await startRelay({
      port: 0,
      dataDir: await tempDir(),
      webDir: '/nonexistent',
      auth: 'off',
    });
    const client = new MuxWsClient(relay.url);
    await client.hello();
    const early = await rawConnection(relay.url);
    const closing = relay.close();
    expect(await tryUpgrade(early)).toBe('503');
    expect((await client.closed).code).toBe(CloseCode.GoingAway);
    await closing;
  });
});
