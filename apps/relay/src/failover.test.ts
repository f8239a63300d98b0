import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, Replica } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningRelay, startRelay } from './index.ts';
import { wsTransportFactory } from './testing/index.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(): Promise<RunningRelay> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lattice-fo-'));
  const r = await startRelay({
    auth: 'off',
    host: '127.0.0.1',
    port: 0,
    dataDir,
    webDir: join(dataDir, 'no-web'),
  });
  cleanups.push(async () => {
    await r.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return r;
}

/**
 * A TCP pipe in front of a relay standing in for its host: `crash()` resets
 * every connection and refuses new ones (the process died: the kernel
 * answers for it); `vanish()` forwards nothing any more and closes nothing
 * (the machine is gone: sockets go half-open, connects hang).
 */
class Front {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #mode: 'pass' | 'vanished' = 'pass';
  port = 0;

  constructor(target: number) {
    this.#server = createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      client.on('error', () => undefined);
      if (this.#mode === 'vanished') return;
      const upstream = createConnection(target);
      this.#sockets.add(upstream);
      upstream.on('close', () => this.#sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('data', (d) => {
        if (this.#mode === 'pass') upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (this.#mode === 'pass') client.write(d);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.listen(0, '127.0.0.1', () => {
        const address = this.#server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }

  crash(): void {
    this.#server.close();
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  vanish(): void {
    this.#mode = 'vanished';
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

async function front(target: RunningRelay): Promise<Front> {
  const f = new Front(target.port);
  await f.listen();
  cleanups.push(() => f.close().catch(() => undefined));
  return f;
}

async function eventually(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Text of `docName` as `relay` durably holds it. */
async function storedText(r: RunningRelay, docName: string): Promise<string> {
  const url = `ws://127.0.0.1:${r.port}/sync`;
  const probe = new Replica({
    storage: new MemoryStorage(),
    relays: [url],
    transportFactory: wsTransportFactory,
    onError: () => undefined,
  });
  try {
    const h = await probe.open(docName);
    await probe.whenSynced();
    const text = h.doc.getText('body').toString();
    h.release();
    return text;
  } finally {
    await probe.destroy();
  }
}

describe('front-end failover over real sockets (default heartbeat settings)', () => {
  for (const how of ['crash', 'vanish'] as const) {
    it(`moves to relay 2 when relay 1 ${how === 'crash' ? 'crashes (sockets reset)' : 'vanishes (half-open)'}`, async () => {
      const [r1, r2] = await Promise.all([relay(), relay()]);
      const f1 = await front(r1);
      const url1 = `ws://127.0.0.1:${f1.port}/sync`;
      const url2 = `ws://127.0.0.1:${r2.port}/sync`;
      const errors: Error[] = [];
      // Default heartbeat (1 s / 2.5 s) and backoff (250 ms / 10 s), as a library user gets them.
      const replica = new Replica({
        storage: new MemoryStorage(),
        relays: [url1, url2],
        transportFactory: wsTransportFactory,
        onError: (e) => errors.push(e),
      });
      cleanups.push(() => replica.destroy());
      const h = await replica.open('w/failover');
      await replica.whenSynced();
      h.doc.getText('body').insert(0, 'acked by relay 1;');
      await replica.whenAcked();
      // Let heartbeats run, so the failure lands at an arbitrary point of their cycle.
      await new Promise((r) => setTimeout(r, 1200));

      const killedAt = performance.now();
      if (how === 'crash') f1.crash();
      else f1.vanish();
      h.doc.getText('body').insert(17, ' written as it died');
      await eventually(
        () => replica.replicationInfo().relays[1]?.state === 'connected',
        'connected to relay 2',
        12_000,
      );
      await replica.whenSynced();
      await replica.whenAcked();
      const failoverMs = performance.now() - killedAt;
      console.log(
        `failover (${how}, default heartbeat): synced with relay 2 after ${Math.round(failoverMs)} ms`,
      );
      expect(await storedText(r2, 'w/failover')).toBe('acked by relay 1; written as it died');
      // Crash: the close is seen at once, then one jittered retry (< 250 ms). Half-open: the 5 s heartbeat timeout.
      expect(failoverMs).toBeLessThan(how === 'crash' ? 1500 : 5000 + 1500);
    }, 20_000);
  }
});
