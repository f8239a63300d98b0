import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { SpawnedRelay } from './testing/index.ts';
import type { SoakCommand, SoakReply } from './testing/soakClient.ts';

/**
 * Soak: 2,000 WebSocket connections across 200 rooms against the real relay
 * process, one edit per connection every 2 s, clients in two child
 * processes. Edits run for `SOAK_WARMUP_SECONDS` (default 30: the relay's
 * heap grows for about that long before it levels off) plus `SOAK_SECONDS`
 * (default 20), the window in which the relay's live memory (after a full
 * collection) must not trend upward. Asserts no connection dropped and every
 * edit acked and delivered to the other members of its room; prints the
 * figures.
 */
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 2000);
const ROOMS = Number(process.env.SOAK_ROOMS ?? 200);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? 30);
const EDIT_INTERVAL_MS = 2000;
/** How often the live heap is sampled (each sample is a full collection in the relay). */
const LIVE_SAMPLE_SECONDS = 2.5;
/** Bytes of live memory the relay may gain per edit once warm (a leak check). */
const MAX_LIVE_GROWTH_PER_EDIT = 300;
const CLIENT_PROCESSES = 2;
const CLIENT_SCRIPT = fileURLToPath(new URL('./testing/soakClient.ts', import.meta.url));

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await SpawnedRelay.killAll();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

class ClientProcess {
  readonly child: ChildProcess;
  readonly #waiting: { kind: SoakReply['kind']; resolve: (r: SoakReply) => void }[] = [];

  constructor() {
    this.child = fork(CLIENT_SCRIPT, [], {
      execArgv: ['--import', 'tsx'],
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Delivery latencies are gathered by the thousand: room for them.
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=1024' },
    });
    children.push(this.child);
    this.child.on('message', (reply: SoakReply) => {
      const i = this.#waiting.findIndex((w) => w.kind === reply.kind);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(reply);
    });
  }

  send(command: SoakCommand): void {
    this.child.send(command);
  }

  next<K extends SoakReply['kind']>(kind: K): Promise<Extract<SoakReply, { kind: K }>> {
    return new Promise((resolve) => {
      this.#waiting.push({ kind, resolve: resolve as (r: SoakReply) => void });
    });
  }
}

it(
  `soak: ${CONNECTIONS} connections, ${ROOMS} rooms, ${WARMUP_SECONDS} + ${SECONDS} s of steady edits`,
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lattice-soak-'));
    dirs.push(dataDir);
    const relay = await SpawnedRelay.start({
      dataDir,
      args: ['--max-connections-per-ip', String(CONNECTIONS * 2)],
      liveHeapProbe: true,
    });
    const clients = Array.from({ length: CLIENT_PROCESSES }, () => new ClientProcess());
    const per = Math.ceil(CONNECTIONS / CLIENT_PROCESSES);
    const connected = clients.map((c) => c.next('connected'));
    clients.forEach((c, i) => {
      c.send({
        cmd: 'connect',
        url: relay.url,
        from: i * per,
        to: Math.min(CONNECTIONS, (i + 1) * per),
        rooms: ROOMS,
      });
    });
    const counts = await Promise.all(connected);
    expect(counts.reduce((n, c) => n + c.connections, 0)).toBe(CONNECTIONS);

    const rss: { t: number; bytes: number }[] = [];
    const cpuStart = await relay.cpuSeconds();
    const started = performance.now();
    const sampler = setInterval(() => {
      relay.rssBytes().then(
        (bytes) => rss.push({ t: (performance.now() - started) / 1000, bytes }),
        () => {},
      );
    }, 1000);
    for (const c of clients) c.send({ cmd: 'edit', intervalMs: EDIT_INTERVAL_MS });
    // Live memory (after a full collection) every few seconds while edits
    // flow: the leak check fits a slope over the measured window's samples.
    const live: { t: number; bytes: number }[] = [];
    const sampleLive = async () => {
      const m = await relay.liveMemory();
      live.push({ t: (performance.now() - started) / 1000, bytes: m.heapUsed + m.external });
    };
    const sleepUntil = (seconds: number) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, seconds * 1000 - (performance.now() - started))),
      );
    for (let t = LIVE_SAMPLE_SECONDS; t <= WARMUP_SECONDS + SECONDS; t += LIVE_SAMPLE_SECONDS) {
      await sleepUntil(t);
      await sampleLive();
    }
    const reports = clients.map((c) => c.next('report'));
    for (const c of clients) c.send({ cmd: 'stop', drainMs: 15_000 });
    const done = await Promise.all(reports);
    clearInterval(sampler);
    const cpuRelay = (await relay.cpuSeconds()) - cpuStart;
    const wall = (performance.now() - started) / 1000;

    const sent = done.reduce((n, r) => n + r.sent, 0);
    const received = new Map<string, number>();
    for (const r of done) {
      for (const [key, n] of r.received) received.set(key, (received.get(key) ?? 0) + n);
    }
    const membersPerRoom = CONNECTIONS / ROOMS;
    let underDelivered = 0;
    for (const n of received.values()) if (n < membersPerRoom - 1) underDelivered++;
    const neverSeen = sent - received.size;
    const ackMs = done.flatMap((r) => r.ackMs);
    const deliveryMs = done.flatMap((r) => r.deliveryMs);
    const dropped = done.flatMap((r) => r.dropped);

    const window = rss.filter((s) => s.t >= WARMUP_SECONDS);
    const mb = (b: number) => b / 1024 / 1024;
    const slopeMbPerS = slope(
      window.map((s) => s.t),
      window.map((s) => mb(s.bytes)),
    );
    const rssValues = rss.map((s) => mb(s.bytes));
    console.table({
      connections: CONNECTIONS,
      rooms: ROOMS,
      'edit seconds (warm-up + measured)': `${WARMUP_SECONDS} + ${SECONDS}`,
      edits: sent,
      'deliveries (expected)': `${deliveryMs.length} (${sent * (membersPerRoom - 1)})`,
      'delivery p50/p99 ms': `${percentile(deliveryMs, 50).toFixed(1)} / ${percentile(deliveryMs, 99).toFixed(1)}`,
      'ack p50/p99 ms': `${percentile(ackMs, 50).toFixed(1)} / ${percentile(ackMs, 99).toFixed(1)}`,
      'relay RSS start/peak/end MB': `${rssValues[0]?.toFixed(0)} / ${Math.max(...rssValues).toFixed(0)} / ${rssValues.at(-1)?.toFixed(0)}`,
      'RSS slope after warm-up MB/s': slopeMbPerS.toFixed(3),
      'RSS peak warm-up / measured MB': `${Math.max(...rss.filter((s) => s.t < WARMUP_SECONDS).map((s) => mb(s.bytes))).toFixed(0)} / ${Math.max(...window.map((s) => mb(s.bytes))).toFixed(0)}`,
      'relay CPU s (% of one core)': `${cpuRelay.toFixed(1)} (${((100 * cpuRelay) / wall).toFixed(0)}%)`,
      'client CPU s per process': done.map((r) => r.cpuSeconds.toFixed(1)).join(' / '),
      'dropped connections': dropped.length,
    });

    console.log(
      `relay RSS MB by second: ${rss.map((s) => `${s.t.toFixed(0)}:${mb(s.bytes).toFixed(0)}`).join(' ')}`,
    );
    expect(dropped).toEqual([]);
    expect(done.map((r) => r.unacked)).toEqual(done.map(() => 0));
    expect(neverSeen).toBe(0);
    expect(underDelivered).toBe(0);
    expect(ackMs.length).toBe(sent);
    // No steady growth. RSS is a GC sawtooth whose teeth V8 spaces by load
    // (e.g. 213 → 283 → 220 MB within 20 s, or one climb from 155 to 274 MB
    // over all 50 s when the machine is busy): where they fall says nothing
    // about leaks, so RSS is printed, not asserted. What is left after a full
    // collection is: each room's doc stays the same size (see soakClient), so
    // live memory may grow only by the bookkeeping of the window's edits.
    const liveMb = live.map((s) => `${s.t.toFixed(0)}:${mb(s.bytes).toFixed(1)}`).join(' ');
    const liveWindow = live.filter((s) => s.t >= WARMUP_SECONDS - 1);
    const liveSlope = slope(
      liveWindow.map((s) => s.t),
      liveWindow.map((s) => s.bytes),
    );
    const growthPerEdit = (liveSlope * EDIT_INTERVAL_MS) / 1000 / CONNECTIONS;
    console.log(
      `relay live heap + external after full GC, MB by second: ${liveMb}; ` +
        `${growthPerEdit.toFixed(1)} B per edit over the measured window`,
    );
    // Seen: 6 to 112 B per edit; live memory saws by ~4 MB as room logs
    // fill and are compacted (every ~100 s here). A relay made to keep each
    // incoming frame measured 428 and 444 B per edit.
    expect(growthPerEdit).toBeLessThan(MAX_LIVE_GROWTH_PER_EDIT);

    for (const c of clients) c.send({ cmd: 'exit' });
    relay.kill('SIGTERM');
    expect((await relay.exited).code).toBe(0);
  },
  180_000 + (WARMUP_SECONDS + SECONDS) * 2000,
);
