/**
 * Benchmark 1, "trace replay through the system" (`pnpm bench trace`).
 *
 * Replays a real keystroke trace (automerge-paper, seph-blog1) as edits on
 * replica A — a real `Replica` (MemoryStorage) on a real WebSocket to a real
 * relay process (LevelDB, synced group commit, `--auth off`) — and measures
 * how long until replica B (another `Replica`, its own socket) holds the last
 * edit. The limit, measured in the same process and interleaved with it: the
 * same edits on one `Y.Doc`, each update applied in-process to a second.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeWebSocket, SpawnedRelay, tapTransport } from '@lattice/relay/testing';
import {
  type DocHandle,
  MemoryStorage,
  Replica,
  type Transport,
  type TransportFactory,
  WebSocketTransport,
} from '@lattice/replication';
import * as Y from 'yjs';
import type { Benchmark, BenchOptions } from './lib/benchmark.ts';
import { writePlot } from './lib/plot.ts';
import { progress, say } from './lib/progress.ts';
import type { BenchResult, TargetCheck } from './lib/results.ts';
import { type Figure, figure, formatFigure } from './lib/stats.ts';
import { loadTrace, type Patch, type Trace } from './lib/traces.ts';

/** The target: Lattice end-to-end ≤ 1.2 × the in-process pair. */
const TARGET_RATIO = 1.2;
/**
 * The editor gives the event loop a turn after this much synchronous editing,
 * as a browser would between input events; the replica's socket, acks and B's
 * receive all run in those turns. Edits are applied as fast as that allows.
 */
const EDIT_SLICE_MS = 2;
/** Pause editing while A's socket has this much unsent (the replica's only backpressure signal). */
const SEND_HIGH_WATER = 4 * 1024 * 1024;
/** Relay limits raised: the replay sends far more than a person (500 frames/s, 8 MiB/s default). */
const RELAY_ARGS = ['--rate-limit', '1000000', '--rate-limit-bytes', String(2 ** 40)];
/** Progress samples kept per run for the plot. */
const PLOT_POINTS = 200;

/** One trace, ready to replay: patches with the text they must produce. */
interface Workload {
  name: string;
  patches: Patch[];
  endContent: string;
  /** A's clock after the last edit (inserted UTF-16 units): B holds everything once it reaches this and the text matches. */
  finalClock: number;
}

/** A point of a progress curve: edits done (fraction) at `ms` after the first edit. */
interface ProgressPoint {
  ms: number;
  fraction: number;
}

interface LimitRun {
  seconds: number;
  /** CPU of this process during the run (robust to other load on the machine, unlike wall time). */
  cpuSeconds: number;
  curve: ProgressPoint[];
}

interface LatticeRun {
  /** First edit → B holds the last one. */
  e2eSeconds: number;
  /** First edit → last edit applied on A. */
  typingSeconds: number;
  /** Last edit applied on A → B holds it. */
  lastToBMs: number;
  /** Last edit applied on A → `whenAcked()` (the relay's durable ack of it). */
  lastToAckMs: number;
  relayCpuSeconds: number;
  /** CPU of this process (both replicas and the editor). */
  clientCpuSeconds: number;
  /** TCP bytes at A's and B's sockets (includes the HTTP upgrade and WebSocket framing). */
  aUpBytes: number;
  aDownBytes: number;
  bUpBytes: number;
  bDownBytes: number;
  aFramesUp: number;
  bFramesDown: number;
  curveA: ProgressPoint[];
  curveB: ProgressPoint[];
}

export const traceReplay: Benchmark = {
  name: 'trace',
  title: 'Trace replay through the system',
  run,
};

async function run(options: BenchOptions): Promise<BenchResult> {
  const runs = options.runs ?? (options.quick ? 2 : 3);
  // `TRACE_ONLY=<name>`: one trace only (profiling).
  const only = process.env.TRACE_ONLY;
  const workloads: Workload[] = [];
  for (const [name, quickPrefix] of [
    ['automerge-paper', 30_000],
    ['seph-blog1', 20_000],
  ] as const) {
    if (only === undefined || only === name) {
      workloads.push(await workload(name, options.quick ? quickPrefix : undefined));
    }
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'lattice-bench-trace-'));
  // One relay process for the whole benchmark (a fresh doc per run), as in production.
  const relay = await startRelay(dataDir);
  say(`relay pid ${relay.pid} at ${relay.url} (LevelDB in ${dataDir}, ${RELAY_ARGS.join(' ')})`);
  const limits = new Map<string, LimitRun[]>();
  const lattices = new Map<string, LatticeRun[]>();
  try {
    for (let r = 0; r < runs; r++) {
      for (const w of workloads) {
        // Interleaved, alternating which goes first, so drift on this shared machine hits both.
        const order = r % 2 === 0 ? ['limit', 'lattice'] : ['lattice', 'limit'];
        for (const which of order) {
          if (which === 'limit') {
            const l = runLimit(w);
            say(`  run ${r + 1}/${runs} ${w.name} limit: ${l.seconds.toFixed(2)} s`);
            push(limits, w.name, l);
          } else {
            const l = await runLattice(w, relay, `bench/trace-${w.name}-${r}-${Date.now()}`);
            say(
              `  run ${r + 1}/${runs} ${w.name} lattice: ${l.e2eSeconds.toFixed(2)} s ` +
                `(last edit → B ${l.lastToBMs.toFixed(0)} ms, → ack ${l.lastToAckMs.toFixed(0)} ms, ` +
                `relay CPU ${l.relayCpuSeconds.toFixed(2)} s)`,
            );
            push(lattices, w.name, l);
          }
        }
      }
    }
  } finally {
    relay.kill('SIGTERM');
    await relay.exited;
    await rm(dataDir, { recursive: true, force: true });
  }

  const figures: Record<string, Figure> = {};
  const rows: Array<Array<string | number>> = [];
  const targets: TargetCheck[] = [];
  for (const w of workloads) {
    const lim = limits.get(w.name) ?? [];
    const lat = lattices.get(w.name) ?? [];
    const key = w.name;
    const f = (name: string, values: number[], unit: string) => {
      figures[`${key}.${name}`] = figure(values, unit);
      return figures[`${key}.${name}`] as Figure;
    };
    const limitF = f(
      'limit.seconds',
      lim.map((l) => l.seconds),
      's',
    );
    const e2eF = f(
      'lattice.e2eSeconds',
      lat.map((l) => l.e2eSeconds),
      's',
    );
    // Ratios per interleaved pair (run r's Lattice over run r's limit), then their median.
    const ratioF = f(
      'ratio',
      lat.map((l, i) => l.e2eSeconds / (lim[i]?.seconds ?? Number.NaN)),
      '×',
    );
    const tputF = f(
      'lattice.editsPerSecond',
      lat.map((l) => w.patches.length / l.e2eSeconds),
      'edits/s',
    );
    const limTputF = f(
      'limit.editsPerSecond',
      lim.map((l) => w.patches.length / l.seconds),
      'edits/s',
    );
    const toB = f(
      'lattice.lastEditToBMs',
      lat.map((l) => l.lastToBMs),
      'ms',
    );
    const toAck = f(
      'lattice.lastEditToAckMs',
      lat.map((l) => l.lastToAckMs),
      'ms',
    );
    const relayCpu = f(
      'lattice.relayCpuSeconds',
      lat.map((l) => l.relayCpuSeconds),
      's',
    );
    const clientCpu = f(
      'lattice.clientCpuSeconds',
      lat.map((l) => l.clientCpuSeconds),
      's',
    );
    const limitCpu = f(
      'limit.cpuSeconds',
      lim.map((l) => l.cpuSeconds),
      's',
    );
    // CPU spent (replicas + relay) over the limit's CPU: less sensitive to other load on the machine.
    const cpuRatioF = f(
      'cpuRatio',
      lat.map(
        (l, i) => (l.clientCpuSeconds + l.relayCpuSeconds) / (lim[i]?.cpuSeconds ?? Number.NaN),
      ),
      '×',
    );
    const up = f(
      'lattice.aUpKB',
      lat.map((l) => l.aUpBytes / 1024),
      'KiB',
    );
    const down = f(
      'lattice.bDownKB',
      lat.map((l) => l.bDownBytes / 1024),
      'KiB',
    );
    const aDown = f(
      'lattice.aDownKB',
      lat.map((l) => l.aDownBytes / 1024),
      'KiB',
    );
    const bUp = f(
      'lattice.bUpKB',
      lat.map((l) => l.bUpBytes / 1024),
      'KiB',
    );
    const framesUp = f(
      'lattice.aFramesUp',
      lat.map((l) => l.aFramesUp),
      'frames',
    );
    const framesDown = f(
      'lattice.bFramesDown',
      lat.map((l) => l.bFramesDown),
      'frames',
    );
    rows.push([
      `${w.name} (${w.patches.length.toLocaleString('en')} edits)`,
      'in-process pair (limit)',
      formatFigure(limitF, 2),
      formatFigure(limTputF, 0),
      '—',
      '—',
      '—',
      '—',
      formatFigure(limitCpu, 2),
      '1.00×',
      '1.00×',
    ]);
    rows.push([
      '',
      'Lattice: A → relay (LevelDB) → B',
      formatFigure(e2eF, 2),
      formatFigure(tputF, 0),
      formatFigure(toB, 0),
      formatFigure(toAck, 0),
      `A↑ ${formatFigure(up, 0)} (${formatFigure(framesUp, 0)}), B↓ ${formatFigure(down, 0)} (${formatFigure(framesDown, 0)}); A↓ ${formatFigure(aDown, 0)}, B↑ ${formatFigure(bUp, 0)}`,
      formatFigure(relayCpu, 2),
      formatFigure(clientCpu, 2),
      formatFigure(ratioF, 2),
      formatFigure(cpuRatioF, 2),
    ]);
    targets.push({
      what: `trace replay ${w.name}: end-to-end / in-process pair`,
      target: `≤ ${TARGET_RATIO}×`,
      measured: formatFigure(ratioF, 2),
      pass: ratioF.median <= TARGET_RATIO,
    });
  }

  const plots: string[] = [];
  const first = workloads[0];
  const lim = first && limits.get(first.name)?.at(-1);
  const lat = first && lattices.get(first.name)?.at(-1);
  if (first && lim && lat) {
    const values = [
      ...lim.curve.map((p) => ({ ...p, series: 'limit: in-process pair (B)' })),
      ...lat.curveA.map((p) => ({ ...p, series: 'Lattice: edits applied on A' })),
      ...lat.curveB.map((p) => ({ ...p, series: 'Lattice: edits held by B' })),
    ];
    plots.push(
      ...(await writePlot('trace-replay', {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        title: `${first.name}: replica B's progress over time (last run)`,
        width: 560,
        height: 300,
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'ms', type: 'quantitative', title: 'ms since the first edit' },
          y: {
            field: 'fraction',
            type: 'quantitative',
            title: 'share of the trace',
            axis: { format: '%' },
          },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            legend: { orient: 'bottom', labelLimit: 400 },
          },
        },
      })),
    );
  }

  return {
    name: 'trace',
    title: traceReplay.title,
    figures,
    table: {
      columns: [
        'trace',
        'system',
        'end-to-end',
        'throughput',
        'last edit → B',
        'last edit → durable ack',
        'TCP bytes (frames)',
        'relay CPU',
        'client CPU (A+B; limit: both docs)',
        'ratio to limit (wall)',
        'ratio to limit (CPU, client + relay)',
      ],
      rows,
    },
    targets,
    plots,
    notes: [
      `Median (min–max) of ${runs} interleaved runs per trace; the ratio is taken per run pair, then the median.${options.quick ? ' QUICK MODE: trace prefixes only.' : ''}`,
      'Lattice: replica A (Replica, MemoryStorage) edits, one Yjs transaction per patch, giving the event loop a turn ' +
        `every ${EDIT_SLICE_MS} ms of editing; the relay (separate process, LevelDB with synced group commit, auth off) ` +
        'stores and forwards to replica B (Replica, own socket, same process as A). End-to-end: first edit → B has the ' +
        "last one (A's clock reached and B's text equals the trace's endContent, asserted).",
      "The CPU ratio (replicas + relay CPU over the limit's CPU) is reported because the wall-time ratio moves with other load on this shared machine; the target is the wall-time ratio.",
      'Limit: the same patches on one Y.Doc, every update applied with Y.applyUpdate to a second Y.Doc in the same process.',
      `Relay started with ${RELAY_ARGS.join(' ')}: the replay sends far more than the default per-connection limits (500 frames/s, 8 MiB/s) allow a person.`,
      'Bytes are TCP payload bytes at the client sockets (HTTP upgrade and WebSocket framing included); relay CPU from /proc/<pid>/stat before/after; client CPU is this process (A, B and the editor).',
    ],
  };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

async function workload(name: string, prefix: number | undefined): Promise<Workload> {
  const trace: Trace = await loadTrace(name);
  const patches = prefix === undefined ? trace.patches : trace.patches.slice(0, prefix);
  // Y.Text counts UTF-16 units, the traces count code points; both traces are BMP-only.
  for (const [, , inserted] of patches) {
    if (/[\ud800-\udfff]/.test(inserted)) {
      throw new Error(`${name}: astral characters need code point → UTF-16 position mapping`);
    }
  }
  const endContent = prefix === undefined ? trace.endContent : applyToString(patches);
  let finalClock = 0;
  for (const [, , inserted] of patches) finalClock += inserted.length;
  if (trace.source === 'generated') say(`${name}: trace file missing, using a generated trace`);
  return { name: trace.name, patches, endContent, finalClock };
}

/** The text a prefix of a trace produces (splices on a plain string). */
function applyToString(patches: readonly Patch[]): string {
  let text = '';
  for (const [pos, del, ins] of patches) text = text.slice(0, pos) + ins + text.slice(pos + del);
  return text;
}

function applyPatch(doc: Y.Doc, text: Y.Text, [pos, del, ins]: Patch): void {
  doc.transact(() => {
    if (del > 0) text.delete(pos, del);
    if (ins.length > 0) text.insert(pos, ins);
  });
}

/** The limit: one Y.Doc edited, each update applied in-process to a second. */
function runLimit(w: Workload): LimitRun {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (update: Uint8Array) => Y.applyUpdate(b, update));
  const text = a.getText('body');
  const curve: ProgressPoint[] = [];
  const every = Math.max(1, Math.floor(w.patches.length / PLOT_POINTS));
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < w.patches.length; i++) {
    applyPatch(a, text, w.patches[i] as Patch);
    if (i % every === 0)
      curve.push({ ms: performance.now() - started, fraction: i / w.patches.length });
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  curve.push({ ms: seconds * 1000, fraction: 1 });
  const got = b.getText('body').toString();
  a.destroy();
  b.destroy();
  if (got !== w.endContent)
    throw new Error(`${w.name}: the in-process pair did not produce endContent`);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, curve };
}

async function startRelay(dataDir: string): Promise<SpawnedRelay> {
  // `TRACE_RELAY_CPU_PROF=<dir>`: the relay writes a V8 CPU profile there when it exits.
  const profDir = process.env.TRACE_RELAY_CPU_PROF;
  // `TRACE_RELAY_BIN=<checkout>/apps/relay/bin/relay.mjs`: one relay for both sides of a client A/B.
  const bin = process.env.TRACE_RELAY_BIN;
  return SpawnedRelay.start({
    dataDir,
    args: RELAY_ARGS,
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    ...(bin ? { bin } : {}),
  });
}

/** The part of `ws`'s WebSocket API used here. */
interface UpgradeEmitter {
  once(event: 'upgrade', listener: (response: { socket: Socket }) => void): void;
}

/** Counts WebSocket frames sent and received and remembers the TCP socket for byte counts. */
class CountingFactory {
  framesUp = 0;
  framesDown = 0;
  readonly sockets: Socket[] = [];
  readonly transports: Transport[] = [];

  readonly factory: TransportFactory = (url) => {
    const counter = this;
    // `ws`'s WebSocket, reporting its TCP socket on upgrade (a public `ws` event; typed
    // by hand because bench has no @types/ws).
    class CountingWebSocket extends NodeWebSocket {
      constructor(address: string) {
        super(address);
        (this as unknown as UpgradeEmitter).once('upgrade', (res) =>
          counter.sockets.push(res.socket),
        );
      }
    }
    const transport = tapTransport(
      new WebSocketTransport(url, CountingWebSocket as unknown as typeof globalThis.WebSocket),
      (direction) => {
        if (direction === 'up') counter.framesUp++;
        else counter.framesDown++;
      },
    );
    this.transports.push(transport);
    return transport;
  };

  bytes(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const s of this.sockets) {
      read += s.bytesRead;
      written += s.bytesWritten;
    }
    return { read, written };
  }

  /** Unsent bytes on the current connection. */
  get bufferedAmount(): number {
    return this.transports.at(-1)?.bufferedAmount ?? 0;
  }
}

async function runLattice(w: Workload, relay: SpawnedRelay, docName: string): Promise<LatticeRun> {
  const url = `${relay.url.replace(/^http/, 'ws')}/sync`;
  const netA = new CountingFactory();
  const netB = new CountingFactory();
  const errors: Error[] = [];
  const onError = (error: Error) => errors.push(error);
  const a = new Replica({
    storage: new MemoryStorage(),
    relays: [url],
    transportFactory: netA.factory,
    onError,
  });
  const b = new Replica({
    storage: new MemoryStorage(),
    relays: [url],
    transportFactory: netB.factory,
    onError,
  });
  let handleA: DocHandle | undefined;
  let handleB: DocHandle | undefined;
  try {
    handleB = await b.open(docName);
    handleA = await a.open(docName);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    const docA = handleA.doc;
    const docB = handleB.doc;
    const textA = docA.getText('body');
    const textB = docB.getText('body');
    const clientA = docA.clientID;
    const total = w.patches.length;

    // B's side: progress samples (A's clock reached on B, mapped to edits) and completion.
    const clockAfter = new Uint32Array(total);
    const curveB: ProgressPoint[] = [];
    let started = 0;
    let bDoneAt = 0;
    let resolveB: () => void = () => {};
    const bDone = new Promise<void>((resolve) => {
      resolveB = resolve;
    });
    let typed = 0;
    let lastSampleClock = -1;
    const sampleEvery = Math.max(1, Math.floor(w.finalClock / PLOT_POINTS));
    const onB = () => {
      const clock = Y.getState(docB.store, clientA);
      if (clock - lastSampleClock >= sampleEvery || clock >= w.finalClock) {
        lastSampleClock = clock;
        curveB.push({
          ms: performance.now() - started,
          fraction: editsAt(clockAfter, typed, clock) / total,
        });
      }
      // O(1) checks first; the full comparison only once the length matches at the final clock.
      if (
        bDoneAt === 0 &&
        clock >= w.finalClock &&
        textB.length === w.endContent.length &&
        textB.toString() === w.endContent
      ) {
        bDoneAt = performance.now();
        resolveB();
      }
    };
    docB.on('afterTransaction', onB);

    const relayCpu0 = await relay.cpuSeconds();
    const cpu0 = process.cpuUsage();
    const show = progress(`  ${w.name} lattice: edits on A`);
    const curveA: ProgressPoint[] = [];
    const every = Math.max(1, Math.floor(total / PLOT_POINTS));
    started = performance.now();
    let sliceStart = started;
    for (let i = 0; i < total; i++) {
      applyPatch(docA, textA, w.patches[i] as Patch);
      clockAfter[i] = Y.getState(docA.store, clientA);
      typed = i + 1;
      if (i % every === 0)
        curveA.push({ ms: performance.now() - started, fraction: typed / total });
      const now = performance.now();
      if (now - sliceStart >= EDIT_SLICE_MS) {
        await turn();
        while (netA.bufferedAmount > SEND_HIGH_WATER) await turn();
        sliceStart = performance.now();
        if (i % 5000 < 100) show(typed, total);
      }
    }
    const lastEditAt = performance.now();
    curveA.push({ ms: lastEditAt - started, fraction: 1 });
    show(total, total);
    let ackedAt = 0;
    const acked = a.whenAcked().then(() => {
      ackedAt = performance.now();
    });
    const timeoutMs = Math.max(60_000, (lastEditAt - started) * 20);
    await withTimeout(
      Promise.all([bDone, acked]),
      timeoutMs,
      () =>
        `${w.name}: B did not reach endContent within ${timeoutMs} ms after the last edit ` +
        `(B holds clock ${Y.getState(docB.store, clientA)}/${w.finalClock}, ` +
        `length ${textB.length}/${w.endContent.length}; errors: ${errors.map((e) => e.message).join('; ')})`,
    );
    const cpu = process.cpuUsage(cpu0);
    const relayCpuSeconds = (await relay.cpuSeconds()) - relayCpu0;
    docB.off('afterTransaction', onB);
    if (textB.toString() !== w.endContent)
      throw new Error(`${w.name}: B's text differs from endContent`);
    if (errors.length > 0) say(`  replica errors: ${errors.map((e) => e.message).join('; ')}`);
    const bytesA = netA.bytes();
    const bytesB = netB.bytes();
    return {
      e2eSeconds: (bDoneAt - started) / 1000,
      typingSeconds: (lastEditAt - started) / 1000,
      lastToBMs: bDoneAt - lastEditAt,
      lastToAckMs: ackedAt - lastEditAt,
      relayCpuSeconds,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      aUpBytes: bytesA.written,
      aDownBytes: bytesA.read,
      bUpBytes: bytesB.written,
      bDownBytes: bytesB.read,
      aFramesUp: netA.framesUp,
      bFramesDown: netB.framesDown,
      curveA,
      curveB,
    };
  } finally {
    handleA?.release();
    handleB?.release();
    await a.destroy();
    await b.destroy();
  }
}

/** Edits (count) whose insertions B holds, given A's clock on B: the last edit with clockAfter ≤ clock. */
function editsAt(clockAfter: Uint32Array, typed: number, clock: number): number {
  let lo = 0;
  let hi = typed;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((clockAfter[mid] as number) <= clock) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One turn of the event loop (I/O callbacks run). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
