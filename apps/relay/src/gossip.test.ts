import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterInfo } from '@lattice/replication';
import { afterEach, describe, expect, it } from 'vitest';
import { type RelayOptions, type RunningRelay, startRelay } from './index.ts';
import { MuxWsClient, wsTransportFactory } from './testing/index.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(extra: Partial<RelayOptions> = {}): Promise<RunningRelay> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lattice-gossip-'));
  const r = await startRelay({
    auth: 'off',
    host: '127.0.0.1',
    port: 0,
    dataDir,
    webDir: join(dataDir, 'no-web'),
    commitWindowMs: 2,
    ...extra,
  });
  cleanups.push(async () => {
    await r.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return r;
}

type Cluster = ClusterInfo & { relays: string[] };

async function cluster(r: RunningRelay): Promise<Cluster> {
  const res = await fetch(`${r.url}/api/cluster`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  return (await res.json()) as Cluster;
}

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what = 'condition',
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const wsBase = (r: RunningRelay) => `ws://127.0.0.1:${r.port}`;

describe('relay app: gossip over real sockets', () => {
  it('--peer links relays: an edit on A reaches a client on B; /api/cluster shows both sides', async () => {
    const b = await relay();
    const a = await relay({ peers: [wsBase(b)] });
    await until(async () => (await cluster(a)).peers[0]?.state === 'connected', 5000, 'link');

    const onA = new MuxWsClient(a.url);
    const onB = new MuxWsClient(b.url);
    cleanups.push(
      () => onA.close(),
      () => onB.close(),
    );
    await onA.hello();
    await onB.hello();
    const docB = onB.sync('w/n');
    const docA = onA.sync('w/n');
    docA.getText('body').insert(0, 'over the wire');
    await onB.waitFor(() =>
      docB.getText('body').toString() === 'over the wire' ? true : undefined,
    );

    const infoA = await cluster(a);
    expect(infoA).toMatchObject({
      relayId: a.core.relayId,
      url: a.url,
      relays: [`${wsBase(a)}/sync`, `${wsBase(b)}/sync`],
    });
    expect(infoA.peers).toEqual([
      {
        url: `${wsBase(b)}/sync`,
        publicUrl: b.url,
        relayId: b.core.relayId,
        direction: 'outbound',
        state: 'connected',
        lagOps: expect.any(Number),
        lastAntiEntropyAt: expect.any(Number),
        lastAntiEntropyBytes: { sent: expect.any(Number), received: expect.any(Number) },
      },
    ]);
    expect(typeof infoA.lastAntiEntropyAt).toBe('number');
    const infoB = await cluster(b);
    expect(infoB.peers[0]).toMatchObject({
      url: a.url,
      publicUrl: a.url,
      relayId: a.core.relayId,
      direction: 'inbound',
      state: 'connected',
    });
    // B learns A's failover address from A's Hello.
    expect(infoB.relays).toEqual([`${wsBase(b)}/sync`, `${wsBase(a)}/sync`]);
    await until(async () => (await cluster(a)).peers[0]?.lagOps === 0, 5000, 'lag 0');
  });

  it('/api/cluster offers clients only peers that introduced themselves, not a dial address nobody answered', async () => {
    const b = await relay();
    // A port nothing listens on: the dialer toward it never hears a Hello.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const dead = `ws://127.0.0.1:${deadPort}`;
    const a = await relay({ peers: [wsBase(b), dead] });
    await until(
      async () =>
        (await cluster(a)).peers.some(
          (p) => p.relayId === b.core.relayId && p.state === 'connected',
        ),
      5000,
      'link to B',
    );
    const info = await cluster(a);
    // Operators still see the dialer that gets no answer…
    expect(info.peers).toContainEqual(
      expect.objectContaining({ url: `${dead}/sync`, relayId: null, publicUrl: null }),
    );
    // …but clients are not sent there: its address may be internal to the cluster,
    // or belong to a relay already listed (one whose own link reached this relay first).
    expect(info.relays).toEqual([`${wsBase(a)}/sync`, `${wsBase(b)}/sync`]);
  });

  it('lagOps grows while the peer is cut off and writes happen, and is 0 after the heal', async () => {
    const b = await relay();
    const a = await relay({ peers: [wsBase(b)] });
    await until(async () => (await cluster(a)).peers[0]?.lagOps === 0, 5000, 'link');
    const peerUrl = `${wsBase(b)}/sync`;
    a.core.removePeer(peerUrl);
    await until(async () => (await cluster(a)).peers[0]?.state === 'down', 5000, 'down');

    const onA = new MuxWsClient(a.url);
    cleanups.push(() => onA.close());
    await onA.hello();
    const doc = onA.sync('w/lag');
    for (let i = 0; i < 20; i++) doc.getText('body').insert(i, 'x');
    await onA.waitFor(() => (onA.acked('w/lag') === onA.sent('w/lag') ? true : undefined));
    await until(async () => ((await cluster(a)).peers[0]?.lagOps ?? 0) >= 20, 5000, 'lag');
    const down = (await cluster(a)).peers[0]!;
    expect(down.state).toBe('down');
    expect(down.lagOps).toBe(20);

    a.core.addPeer(peerUrl, wsTransportFactory);
    await until(async () => (await cluster(a)).peers[0]?.lagOps === 0, 5000, 'healed');
    expect((await cluster(a)).peers).toHaveLength(1);
  });
});
