/**
 * Benchmark 5, memory and scale (`pnpm bench memory`).
 *
 * A real relay process (`SpawnedRelay`, LevelDB in a temp dir, auth off); its
 * resident memory is read from `/proc/<pid>/status` (VmRSS). There is no GC
 * endpoint, so every reading is the minimum of samples taken over a couple of
 * seconds after the relay went idle (garbage V8 has not collected yet only
 * makes a sample larger).
 *
 * - Per idle connection: 2–4 child processes (`memoryClients.ts`) open idle
 *   `/sync` sockets in steps up to 10,000, each saying Hello and answering
 *   heartbeats; RSS delta / connections, and how many fit in 1 GiB
 *   (extrapolated from the per-connection cost, and verified at 10,000).
 * - Per idle loaded workspace: one client loads N workspaces (an index doc
 *   and 5 note docs each, keystroke-level history) and stays connected, so the
 *   rooms stay loaded; RSS delta / N. Then it disconnects and we watch
 *   `/healthz` `rooms` drop to 0 (the relay unloads a room 30 s after its last
 *   member left: `idleUnloadMs`) and RSS fall back.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MuxWsClient, procCpuSeconds, procRssBytes, SpawnedRelay } from '@lattice/relay/testing';
import { FrameType } from '@lattice/replication';
import * as Y from 'yjs';
import type { Benchmark, BenchOptions } from './lib/benchmark.ts';
import { writePlot } from './lib/plot.ts';
import { say } from './lib/progress.ts';
import { type BenchResult, RESULTS_DIR, type TargetCheck } from './lib/results.ts';
import { type Figure, figure, formatFigure, median } from './lib/stats.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const NOTES_PER_WORKSPACE = 5;
/** The relay's default `idleUnloadMs` (packages/replication/src/relay/RelayCore.ts). */
const IDLE_UNLOAD_MS = 30_000;
/** `--quick`: shorter RSS sampling windows (set by `run`). */
let QUICK = false;

/** Relay RSS once idle: the minimum of samples over `ms` (after a short pause). */
async function settledRss(relay: SpawnedRelay, ms = QUICK ? 1000 : 2500): Promise<number> {
  await sleep(700);
  let min = Number.POSITIVE_INFINITY;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    min = Math.min(min, await relay.rssBytes());
    await sleep(100);
  }
  return min;
}

async function healthz(
  relay: SpawnedRelay,
): Promise<{ rooms: number; connections: number; [k: string]: unknown }> {
  const res = await fetch(`${relay.url}/healthz`);
  return (await res.json()) as { rooms: number; connections: number };
}

/** A load-generator child holding idle sockets. */
class ClientProcess {
  readonly child: ChildProcess;
  #waiters: Array<{
    resolve: (m: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }> = [];

  constructor() {
    this.child = fork(join(import.meta.dirname, 'memoryClients.ts'), [], {
      // tsx compiles the child's TypeScript (and @lattice/replication's source).
      execArgv: ['--import', 'tsx'],
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: Record<string, unknown>) => {
      this.#waiters.shift()?.resolve(m);
    });
    // A crashed load generator fails the benchmark instead of hanging it.
    this.child.on('exit', (code) => {
      for (const w of this.#waiters.splice(0))
        w.reject(new Error(`load generator exited (${code})`));
    });
  }

  #ask(message: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.child.send(message);
    });
  }

  async open(url: string, count: number): Promise<{ open: number; failed: number }> {
    if (count <= 0) return { open: 0, failed: 0 };
    const reply = await this.#ask({ op: 'open', url, count });
    if (Number(reply.failed) > 0)
      say(`  client ${this.child.pid}: ${JSON.stringify(reply.errors)}`);
    return { open: Number(reply.open), failed: Number(reply.failed) };
  }

  async closeAll(): Promise<void> {
    await this.#ask({ op: 'close' });
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ op: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface ConnPoint {
  connections: number;
  rssBytes: number;
}

interface RunSample {
  baseRss: number;
  points: ConnPoint[];
  perConnBytes: number;
  maxOpen: number;
  failed: number;
  clientCpuS: number;
  clientRss: number;
  relayCpuS: number;
  workspaceBase: number;
  perWorkspaceBytes: number;
  roomsLoaded: number;
  unloadMs: number | null;
  rssAfterUnload: number;
  unloadTrace: Array<{ s: number; rooms: number; rssMiB: number }>;
}

/** A note body typed in keystrokes (seeded), as a local doc. */
function noteDoc(seed: number, keystrokes: number): Y.Doc {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const doc = new Y.Doc();
  const body = doc.getText('body');
  for (let i = 0; i < keystrokes; i++) {
    if (i % 10 === 9 && body.length > 0) body.delete(body.length - 1, 1);
    else body.insert(body.length, 'abcdefghij klmnop'[Math.floor(random() * 17)] as string);
  }
  return doc;
}

function indexDoc(noteIds: readonly string[]): Y.Doc {
  const doc = new Y.Doc();
  const notes = doc.getMap('notes');
  for (const id of noteIds) {
    const entry = new Y.Map<unknown>();
    notes.set(id, entry);
    const title = new Y.Text();
    entry.set('title', title);
    title.insert(0, `Note ${id}`);
    entry.set('createdAt', Date.now());
    entry.set('updatedAt', Date.now());
    entry.set('trashedAt', null);
  }
  return doc;
}

async function runOnce(
  options: BenchOptions,
  steps: readonly number[],
  workspaces: number,
  processes: number,
  run: number,
): Promise<RunSample> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lattice-bench-memory-'));
  // Limits raised for the load generator: 10,000 sockets from one address
  // (defaults: 10,000 in total, 1,000 per IP), and one client uploading
  // thousands of docs at once (default 500 frames/s).
  const relay = await SpawnedRelay.start({
    dataDir,
    args: [
      '--max-connections',
      '20000',
      '--max-connections-per-ip',
      '20000',
      '--rate-limit',
      '100000',
      '--rate-limit-bytes',
      String(GiB),
    ],
  });
  const syncUrl = `${relay.url.replace(/^http/, 'ws')}/sync`;
  const clients = Array.from({ length: processes }, () => new ClientProcess());
  try {
    // ---- idle connections ----
    // Warm-up: the first sockets pay for JIT-compiled code and pools, not per connection.
    await clients[0]?.open(syncUrl, 200);
    await clients[0]?.closeAll();
    await sleep(500);
    const baseRss = await settledRss(relay);
    const relayCpu0 = await relay.cpuSeconds();
    const clientCpu0 = await Promise.all(clients.map((c) => procCpuSeconds(c.child.pid ?? 0)));
    const points: ConnPoint[] = [{ connections: 0, rssBytes: baseRss }];
    let open = 0;
    let failed = 0;
    for (const target of steps) {
      const add = target - open;
      const share = Math.ceil(add / processes);
      const results = await Promise.all(
        clients.map((c, i) => c.open(syncUrl, Math.max(0, Math.min(share, add - i * share)))),
      );
      for (const r of results) failed += r.failed;
      open = (await healthz(relay)).connections;
      const rss = await settledRss(relay);
      points.push({ connections: open, rssBytes: rss });
      say(
        `  run ${run}: ${open} idle connections → relay RSS ${(rss / MiB).toFixed(1)} MiB (+${((rss - baseRss) / MiB).toFixed(1)})`,
      );
    }
    const relayCpuS = (await relay.cpuSeconds()) - relayCpu0;
    const clientCpuS = (
      await Promise.all(clients.map((c) => procCpuSeconds(c.child.pid ?? 0)))
    ).reduce((s, v, i) => s + v - (clientCpu0[i] ?? 0), 0);
    let clientRss = 0;
    for (const c of clients) clientRss += await procRssBytes(c.child.pid ?? 0);
    const last = points.at(-1) as ConnPoint;
    const perConnBytes = (last.rssBytes - baseRss) / Math.max(1, last.connections);
    await Promise.all(clients.map((c) => c.closeAll()));
    for (let i = 0; i < 100 && (await healthz(relay)).connections > 0; i++) await sleep(100);

    // ---- idle loaded workspaces ----
    const workspaceBase = await settledRss(relay);
    const loader = new MuxWsClient(relay.url);
    await loader.hello();
    const names: string[] = [];
    for (let w = 0; w < workspaces; w++) {
      const ws = `mem${run}w${w}`;
      const noteIds = Array.from({ length: NOTES_PER_WORKSPACE }, (_, i) => `note${i}`);
      loader.sync(ws, indexDoc(noteIds));
      names.push(ws);
      for (const [i, id] of noteIds.entries()) {
        // ~300 keystrokes per note: a short note with its full typing history.
        loader.sync(`${ws}/${id}`, noteDoc(run * 100_003 + w * 7 + i + 1, 300));
        names.push(`${ws}/${id}`);
      }
      if (w % 20 === 19) await sleep(0);
    }
    // Loaded and durable: every doc's messages acked (the relay answered each SyncStep1 too).
    // (Polled: `MuxWsClient.acked` scans every frame, too slow to re-check per frame.)
    const ackDeadline = performance.now() + 120_000;
    for (;;) {
      const acked = new Map<string, number>();
      for (const f of loader.frames) {
        if (f.type === FrameType.Ack)
          acked.set(f.docName, Math.max(acked.get(f.docName) ?? 0, f.seq));
      }
      if (names.every((n) => loader.sent(n) >= 2 && (acked.get(n) ?? 0) >= loader.sent(n))) break;
      if (performance.now() > ackDeadline) throw new Error('workspaces not acked within 120 s');
      await sleep(200);
    }
    const roomsLoaded = (await healthz(relay)).rooms;
    const loadedRss = await settledRss(relay);
    const perWorkspaceBytes = (loadedRss - workspaceBase) / workspaces;
    say(
      `  run ${run}: ${workspaces} workspaces (${roomsLoaded} rooms) loaded, idle → RSS ${(loadedRss / MiB).toFixed(1)} MiB (+${((loadedRss - workspaceBase) / MiB).toFixed(1)})`,
    );

    // ---- idle unload ----
    await loader.close();
    const leftAt = performance.now();
    const unloadTrace: RunSample['unloadTrace'] = [];
    let unloadMs: number | null = null;
    const deadline = leftAt + IDLE_UNLOAD_MS + (options.quick ? 15_000 : 30_000);
    while (performance.now() < deadline) {
      const { rooms } = await healthz(relay);
      const s = (performance.now() - leftAt) / 1000;
      unloadTrace.push({ s, rooms, rssMiB: (await relay.rssBytes()) / MiB });
      if (rooms === 0) {
        unloadMs = performance.now() - leftAt;
        break;
      }
      await sleep(500);
    }
    const rssAfterUnload = await settledRss(relay);
    unloadTrace.push({
      s: (performance.now() - leftAt) / 1000,
      rooms: (await healthz(relay)).rooms,
      rssMiB: rssAfterUnload / MiB,
    });
    say(
      `  run ${run}: rooms → 0 after ${unloadMs === null ? 'never (timeout)' : `${(unloadMs / 1000).toFixed(1)} s`}, RSS ${(rssAfterUnload / MiB).toFixed(1)} MiB`,
    );
    return {
      baseRss,
      points,
      perConnBytes,
      maxOpen: last.connections,
      failed,
      clientCpuS,
      clientRss,
      relayCpuS,
      workspaceBase,
      perWorkspaceBytes,
      roomsLoaded,
      unloadMs,
      rssAfterUnload,
      unloadTrace,
    };
  } finally {
    await Promise.all(clients.map((c) => c.exit()));
    relay.kill('SIGTERM');
    const timer = setTimeout(() => relay.kill('SIGKILL'), 10_000);
    await relay.exited;
    clearTimeout(timer);
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function run(options: BenchOptions): Promise<BenchResult> {
  QUICK = options.quick;
  const runs = options.runs ?? (options.quick ? 1 : 3);
  // --quick: one step, since the 30 s idle-unload wait already takes half the minute.
  const steps = options.quick ? [1500] : [1000, 2500, 5000, 10_000];
  const workspaces = options.quick ? 30 : 200;
  const processes = options.quick ? 2 : 4;
  const samples: RunSample[] = [];
  for (let r = 0; r < runs; r++) {
    say(
      `memory run ${r + 1}/${runs}: up to ${steps.at(-1)} idle connections from ${processes} processes, ${workspaces} workspaces`,
    );
    samples.push(await runOnce(options, steps, workspaces, processes, r));
  }

  const fig = (f: (s: RunSample) => number, unit: string): Figure => figure(samples.map(f), unit);
  const perConn = fig((s) => s.perConnBytes / 1024, 'KiB');
  const atMax = fig((s) => (s.points.at(-1)?.rssBytes ?? Number.NaN) / MiB, 'MiB');
  const base = fig((s) => s.baseRss / MiB, 'MiB');
  const fit1GiB = fig((s) => (GiB - s.baseRss) / s.perConnBytes, 'connections');
  const perWs = fig((s) => s.perWorkspaceBytes / 1024, 'KiB');
  const wsBase = fig((s) => s.workspaceBase / MiB, 'MiB');
  const afterUnload = fig((s) => s.rssAfterUnload / MiB, 'MiB');
  const unloadS = fig((s) => (s.unloadMs ?? Number.NaN) / 1000, 's');
  const maxOpen = Math.min(...samples.map((s) => s.maxOpen));
  const failed = samples.reduce((n, s) => n + s.failed, 0);
  const clientCpu = fig((s) => s.clientCpuS, 's');
  const relayCpu = fig((s) => s.relayCpuS, 's');
  const clientRss = fig((s) => s.clientRss / MiB, 'MiB');
  const figures: Record<string, Figure> = {
    'relay.baseRssMiB': base,
    'relay.perConnectionKiB': perConn,
    [`relay.rssAt${steps.at(-1)}ConnectionsMiB`]: atMax,
    'relay.connectionsIn1GiB': fit1GiB,
    'relay.perWorkspaceKiB': perWs,
    'relay.unloadSeconds': unloadS,
    'relay.rssAfterUnloadMiB': afterUnload,
  };
  const maxSteps = steps.at(-1) as number;
  const allUnloaded = samples.every((s) => s.unloadMs !== null);
  const loadedRssMed = median(
    samples.map((s) => (s.workspaceBase + s.perWorkspaceBytes * workspaces) / MiB),
  );
  const targets: TargetCheck[] = [
    {
      what: `${maxSteps.toLocaleString('en')} idle connections, relay RSS (median)`,
      target: options.quick ? '≤ 512 MiB (at 10,000; --quick: extrapolated)' : '≤ 512 MiB',
      measured: options.quick
        ? `${((base.median * MiB + perConn.median * 1024 * 10_000) / MiB).toFixed(0)} MiB extrapolated to 10,000 (${atMax.median.toFixed(0)} MiB at ${maxSteps})`
        : `${atMax.median.toFixed(0)} MiB (fewest open in a run: ${maxOpen}; ${failed} handshakes failed after retries)`,
      // Full size: measured at (nearly) 10,000 — a few handshakes of the load
      // generator may time out on a loaded machine — and scaled to exactly 10,000.
      pass: options.quick
        ? base.median * MiB + perConn.median * 1024 * 10_000 <= 512 * MiB
        : atMax.median <= 512 &&
          maxOpen >= 9_500 &&
          base.median * MiB + perConn.median * 1024 * 10_000 <= 512 * MiB,
    },
    {
      what: 'idle workspaces unloaded (rooms loaded → 0 after clients left)',
      target: `rooms = 0 (idleUnloadMs ${IDLE_UNLOAD_MS / 1000} s)`,
      measured: allUnloaded
        ? `0 rooms after ${formatFigure(unloadS, 1)}; RSS ${loadedRssMed.toFixed(0)} → ${afterUnload.median.toFixed(0)} MiB`
        : 'rooms still loaded at the deadline',
      pass: allUnloaded,
    },
  ];

  await mkdir(RESULTS_DIR, { recursive: true }); // writePlot expects it
  const plots = [
    ...(await writePlot('memory-connections', {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'Relay RSS with idle /sync connections',
      width: 420,
      height: 240,
      data: {
        values: samples.flatMap((s, run) =>
          s.points.map((p) => ({
            run: `run ${run + 1}`,
            connections: p.connections,
            MiB: p.rssBytes / MiB,
          })),
        ),
      },
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'connections', type: 'quantitative', title: 'idle connections' },
            y: { field: 'MiB', type: 'quantitative', title: 'relay RSS (MiB)' },
            color: { field: 'run', type: 'nominal', title: null },
          },
        },
        {
          data: { values: [{ MiB: 512 }] },
          mark: { type: 'rule', color: 'red', strokeDash: [4, 3] },
          encoding: { y: { field: 'MiB', type: 'quantitative' } },
        },
      ],
    })),
    ...(await writePlot('memory-unload', {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `After the last client left ${workspaces} workspaces`,
      width: 420,
      height: 160,
      data: {
        values: (samples[0]?.unloadTrace ?? []).flatMap((t) => [
          { s: t.s, series: 'rooms loaded', value: t.rooms },
          { s: t.s, series: 'relay RSS (MiB)', value: t.rssMiB },
        ]),
      },
      mark: { type: 'line', point: true, interpolate: 'step-after' },
      encoding: {
        x: { field: 's', type: 'quantitative', title: 'seconds since the client disconnected' },
        y: { field: 'value', type: 'quantitative', title: null },
        row: { field: 'series', type: 'nominal', title: null },
      },
      resolve: { scale: { y: 'independent' } },
    })),
  ];

  const rows: Array<Array<string | number>> = [
    ['relay, no clients (after warm-up)', formatFigure(base, 1), ''],
    ...steps.map((k, i) => [
      `relay, ${k.toLocaleString('en')} idle /sync connections`,
      formatFigure(
        fig((s) => (s.points[i + 1]?.rssBytes ?? Number.NaN) / MiB, 'MiB'),
        1,
      ),
      '',
    ]),
    ['per idle connection', '', formatFigure(perConn, 1)],
    ['connections within 1 GiB (extrapolated)', '', formatFigure(fit1GiB, 0)],
    [
      `relay, ${workspaces} idle loaded workspaces (${(samples[0]?.roomsLoaded ?? 0).toLocaleString('en')} rooms)`,
      `${loadedRssMed.toFixed(1)} MiB (base ${wsBase.median.toFixed(1)})`,
      '',
    ],
    [
      `per idle loaded workspace (index + ${NOTES_PER_WORKSPACE} notes)`,
      '',
      formatFigure(perWs, 1),
    ],
    ['relay after idle unload (rooms = 0)', formatFigure(afterUnload, 1), ''],
    ['rooms unloaded after the last client left', '', formatFigure(unloadS, 1)],
    [
      `load generator (${processes} processes), CPU / RSS`,
      formatFigure(clientRss, 0),
      formatFigure(clientCpu, 1),
    ],
    ['relay CPU while opening the connections', '', formatFigure(relayCpu, 1)],
  ];

  return {
    name: 'memory',
    title: 'Memory and scale',
    figures,
    table: { columns: ['what', 'relay RSS', 'per item / time'], rows },
    targets,
    plots,
    notes: [
      'RSS is VmRSS of the relay process, the minimum of samples over 2.5 s once idle (no GC endpoint: garbage not yet collected can only make a sample larger). Per-connection cost = (RSS at the largest step − RSS after a 200-socket warm-up) / open connections.',
      `Connections: ${processes} child processes (bench/src/memoryClients.ts) open idle /sync WebSockets (no per-message deflate), each sends a client Hello, waits for the relay's and answers heartbeats; 100 handshakes in flight per process, a timed-out handshake retried twice. The relay runs with --max-connections 20000 --max-connections-per-ip 20000 (defaults 10,000 / 1,000 would refuse the load generator, all on 127.0.0.1) and --rate-limit 100000 (one loader uploads thousands of docs at once).`,
      `Workspaces: one client syncs ${workspaces} workspaces (an index doc with ${NOTES_PER_WORKSPACE} entries + ${NOTES_PER_WORKSPACE} note docs of ~300 keystrokes each), waits until every message is acked (durable in LevelDB) and stays connected, so rooms stay loaded; then it disconnects and /healthz rooms is polled every 0.5 s. The relay unloads a room ${IDLE_UNLOAD_MS / 1000} s (idleUnloadMs, not a CLI flag) after its last member left, compacting its log.`,
      'RSS rarely returns to the pre-load level after unload: V8 keeps heap pages it grew into and the allocator keeps freed memory; what matters is that it stops growing with idle workspaces.',
    ],
  };
}

export const memory: Benchmark = {
  name: 'memory',
  title: 'Memory and scale',
  run,
};
