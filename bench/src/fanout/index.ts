/**
 * Benchmark 2, fan-out: many typing clients on ONE server process, the
 * Lattice relay (durable LevelDB, group commit, acks) against a Hocuspocus
 * server (no persistence), same clients, docs and load, interleaved.
 *
 * Per measurement: a fresh server process; the clients in child processes
 * (the load generators, so they do not starve the server on 2 cores), each
 * client one socket and one doc; every edit types a character and stamps its
 * send time under a key of its own in a Y.Map, so every other member of the
 * doc measures send → applied. Lattice clients also time send → Ack.
 * Server CPU and RSS come from /proc over the measured window (RSS: the mean
 * of samples every `RSS_SAMPLE_MS`, and the largest).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { procCpuSeconds } from '@lattice/relay/testing';
import type { Benchmark, BenchOptions } from '../lib/benchmark.ts';
import { writePlot } from '../lib/plot.ts';
import { say } from '../lib/progress.ts';
import { type BenchResult, RESULTS_DIR, type TargetCheck } from '../lib/results.ts';
import { type Figure, figure, formatFigure, median } from '../lib/stats.ts';
import { Histogram } from './histogram.ts';
import {
  type ClientSpec,
  type GeneratorCommand,
  type GeneratorReply,
  type System,
  speaksLattice,
  wallNow,
} from './messages.ts';
import { RELAY_BENCH_ARGS, ServerProcess } from './servers.ts';

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));
/** How often the server's RSS is read during the measured window. */
const RSS_SAMPLE_MS = 250;

/** Clients per doc, docs, edits per second per client. */
export interface LoadShape {
  docs: number;
  perDoc: number;
  rate: number;
}

export interface Measurement {
  system: System;
  shape: LoadShape;
  /** Edits per second the clients were told to make (all clients). */
  offered: number;
  /** Edits per second actually sent inside the window. */
  achieved: number;
  delivery: { n: number; p50: number; p99: number; p999: number; max: number };
  ack: { n: number; p50: number; p99: number };
  /** Deliveries observed / deliveries expected (window edits × other members). */
  deliveredFraction: number;
  /** Window edits acked within the drain time (Lattice only; NaN for Hocuspocus). */
  ackedFraction: number;
  /** Server CPU over the window, % of one core. */
  serverCpuPct: number;
  /**
   * Server RSS, mean over the window: one reading at its end landed anywhere in
   * V8's heap growth before the next mark-compact (±10 MiB between runs).
   */
  serverRssMiB: number;
  /** The largest RSS sample in the window. */
  serverRssPeakMiB: number;
  /** All generators together, % of one core. */
  generatorCpuPct: number;
  /** Generators' own timer lateness p99 (ms): high means the load generator, not the server, lagged. */
  generatorLagP99Ms: number;
  closedSockets: number;
}

interface MeasureOptions {
  generators: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  seed: number;
  cpuProfDir?: string;
}

/** `floor` is a reference (what the wire alone costs on Node), not a competitor: no target reads it. */
const SYSTEMS: readonly System[] = ['lattice', 'hocuspocus', 'floor'];
const LABEL: Record<System, string> = {
  lattice: 'Lattice relay',
  hocuspocus: 'Hocuspocus 4.7',
  floor: 'Transport floor (ws forward + ack)',
};
/** The saturation criterion. */
const SATURATION_P99_MS = 100;

class Generator {
  readonly child: ChildProcess;
  readonly #waiting: Array<(reply: GeneratorReply) => void> = [];
  readonly exited: Promise<void>;

  constructor() {
    this.child = fork(LOADGEN, [], {
      execArgv: ['--import', 'tsx'],
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (reply: GeneratorReply) => this.#waiting.shift()?.(reply));
  }

  /** Sends `command` and resolves with the next reply (`error` replies reject). */
  request(command: GeneratorCommand, timeoutMs: number): Promise<GeneratorReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`load generator: no reply to ${command.kind}`)),
        timeoutMs,
      );
      this.#waiting.push((reply) => {
        clearTimeout(timer);
        if (reply.kind === 'error') reject(new Error(`load generator: ${reply.message}`));
        else resolve(reply);
      });
      this.child.send(command);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) this.child.send({ kind: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** One measurement: fresh server, clients connected and synced, warm-up, window, drain. */
export async function measure(
  system: System,
  shape: LoadShape,
  options: MeasureOptions,
): Promise<Measurement> {
  const server = await ServerProcess.start(system, options.cpuProfDir);
  const generators = Array.from({ length: options.generators }, () => new Generator());
  try {
    const specs: ClientSpec[][] = generators.map(() => []);
    let c = 0;
    for (let d = 0; d < shape.docs; d++) {
      for (let m = 0; m < shape.perDoc; m++) {
        // Round-robin: the members of one doc sit in different generators (cross-process delivery).
        specs[c % generators.length]!.push({ id: `c${c}`, doc: `ws${d}/note` });
        c++;
      }
    }
    await Promise.all(
      generators.map((g, i) =>
        g.request(
          { kind: 'setup', system, url: server.url, clients: specs[i]!, seed: options.seed + i },
          120_000,
        ),
      ),
    );
    const startAt = wallNow() + 200;
    const measureFrom = startAt + options.warmupMs;
    const measureTo = measureFrom + options.measureMs;
    const pids = [server.pid, ...generators.map((g) => g.child.pid!)];
    const cpuAt = async () => Promise.all(pids.map((pid) => procCpuSeconds(pid)));
    const sleepUntil = (t: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, t - wallNow())));
    const results = Promise.all(
      generators.map((g) =>
        g.request(
          {
            kind: 'run',
            startAt,
            measureFrom,
            measureTo,
            rate: shape.rate,
            drainMs: options.drainMs,
          },
          options.warmupMs + options.measureMs + options.drainMs + 60_000,
        ),
      ),
    );
    await sleepUntil(measureFrom);
    const cpu0 = await cpuAt();
    const t0 = wallNow();
    const rssSamples: number[] = [];
    while (wallNow() < measureTo) {
      rssSamples.push(await server.rssBytes());
      await sleepUntil(Math.min(measureTo, wallNow() + RSS_SAMPLE_MS));
    }
    const cpu1 = await cpuAt();
    const seconds = (wallNow() - t0) / 1000;
    rssSamples.push(await server.rssBytes());
    const rssMean = rssSamples.reduce((sum, v) => sum + v, 0) / rssSamples.length;
    const replies = await results;
    const delivery = new Histogram();
    const ack = new Histogram();
    let sent = 0;
    let delivered = 0;
    let acked = 0;
    let closed = 0;
    let lag = 0;
    for (const r of replies) {
      if (r.kind !== 'result') throw new Error(`load generator replied ${r.kind}`);
      delivery.merge(r.delivery);
      ack.merge(r.ack);
      sent += r.sentInWindow;
      delivered += r.deliveredInWindow;
      acked += r.ackedInWindow;
      closed += r.closed;
      lag = Math.max(lag, r.lagP99Ms);
    }
    const cpuPct = (i: number) => ((cpu1[i]! - cpu0[i]!) / seconds) * 100;
    // Deliveries and acks that never came (within the drain) count as infinitely late.
    const expectedDeliveries = sent * (shape.perDoc - 1);
    const expectedAcks = speaksLattice(system) ? sent : 0;
    return {
      system,
      shape,
      offered: shape.docs * shape.perDoc * shape.rate,
      achieved: sent / (options.measureMs / 1000),
      delivery: {
        n: delivery.count,
        p50: delivery.percentile(0.5, expectedDeliveries),
        p99: delivery.percentile(0.99, expectedDeliveries),
        p999: delivery.percentile(0.999, expectedDeliveries),
        max: delivery.percentile(1),
      },
      ack: {
        n: ack.count,
        p50: ack.percentile(0.5, expectedAcks),
        p99: ack.percentile(0.99, expectedAcks),
      },
      deliveredFraction: sent === 0 ? Number.NaN : delivered / (sent * (shape.perDoc - 1)),
      ackedFraction: speaksLattice(system) && sent > 0 ? acked / sent : Number.NaN,
      serverCpuPct: cpuPct(0),
      serverRssMiB: rssMean / 2 ** 20,
      serverRssPeakMiB: Math.max(...rssSamples) / 2 ** 20,
      generatorCpuPct: pids.slice(1).reduce((s, _, i) => s + cpuPct(i + 1), 0),
      generatorLagP99Ms: lag,
      closedSockets: closed,
    };
  } finally {
    await Promise.all(generators.map((g) => g.close()));
    await server.stop();
  }
}

function describe(m: Measurement): string {
  return (
    `${m.system} ${m.shape.docs * m.shape.perDoc} clients @ ${m.shape.rate}/s ` +
    `(${Math.round(m.offered)} edits/s): delivery p50 ${m.delivery.p50.toFixed(1)} ` +
    `p99 ${m.delivery.p99.toFixed(1)} p999 ${m.delivery.p999.toFixed(1)} ms` +
    (speaksLattice(m.system)
      ? `, ack p50 ${m.ack.p50.toFixed(1)} p99 ${m.ack.p99.toFixed(1)} ms`
      : '') +
    `, server ${m.serverCpuPct.toFixed(0)} % CPU ${m.serverRssMiB.toFixed(0)} MiB, ` +
    `generators ${m.generatorCpuPct.toFixed(0)} % (lag p99 ${m.generatorLagP99Ms.toFixed(1)} ms), ` +
    `delivered ${(m.deliveredFraction * 100).toFixed(1)} %` +
    (m.closedSockets > 0 ? `, ${m.closedSockets} sockets closed` : '')
  );
}

/** Did this measurement stay within the saturation criterion (and deliver everything)? */
function keptUp(m: Measurement): boolean {
  return (
    m.delivery.p99 <= SATURATION_P99_MS && m.deliveredFraction >= 0.99 && m.closedSockets === 0
  );
}

/** Like `formatFigure`, but a latency that never came (some sample missing) reads ∞, not —. */
function latency(f: Figure, digits = 1): string {
  const n = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : '—');
  return f.runs > 1 ? `${n(f.median)} (${n(f.min)}–${n(f.max)})` : n(f.median);
}

function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : '—';
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '—';
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const quick = options.quick;
  const runs = options.runs ?? (quick ? 1 : 3);
  const base: LoadShape = quick
    ? { docs: 20, perDoc: 5, rate: 5 }
    : { docs: 100, perDoc: 5, rate: 5 };
  const clients = base.docs * base.perDoc;
  const timing: MeasureOptions = {
    generators: 2,
    warmupMs: quick ? 1000 : 2000,
    measureMs: quick ? 3000 : 8000,
    drainMs: 1500,
    seed: 1,
    ...(process.env.FANOUT_CPU_PROF ? { cpuProfDir: process.env.FANOUT_CPU_PROF } : {}),
  };
  // Saturation ladder: same clients, faster typing (edits/s per client) after the base rate.
  const ladder = quick ? [20] : [10, 15, 20, 30, 40, 60, 80];
  const ladderDown = quick ? [1] : [2.5, 1, 0.4];

  const main: Record<System, Measurement[]> = { lattice: [], hocuspocus: [], floor: [] };
  for (let r = 0; r < runs; r++) {
    // Interleaved, alternating the order so no system always runs on a warmer machine.
    const order = r % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
    for (const system of order) {
      say(`fanout run ${r + 1}/${runs}: ${system}, ${clients} clients / ${base.docs} docs…`);
      const m = await measure(system, base, { ...timing, seed: 1 + r * 100 });
      say(`  ${describe(m)}`);
      main[system].push(m);
    }
  }

  // Saturation: step each system's offered load until p99 > 100 ms (interleaved per step).
  const points: Measurement[] = [];
  const saturated: Record<System, boolean> = { lattice: false, hocuspocus: false, floor: false };
  const lastOk: Record<System, number> = { lattice: 0, hocuspocus: 0, floor: 0 };
  for (const system of SYSTEMS) {
    const p99 = median(main[system].map((m) => m.delivery.p99));
    const ok = main[system].filter(keptUp).length * 2 > main[system].length;
    if (ok) lastOk[system] = clients * base.rate;
    else saturated[system] = true;
    points.push({ ...main[system][0]!, delivery: { ...main[system][0]!.delivery, p99 } });
  }
  // A system that already failed at the base rate steps down instead, so its
  // saturation point is still found (e.g. on a machine busy with other work).
  for (const system of SYSTEMS) {
    if (lastOk[system] > 0) continue;
    for (const rate of ladderDown) {
      const shape = { ...base, rate };
      say(`fanout saturation: ${system} at ${clients * rate} edits/s (${rate}/s per client)…`);
      const m = await measure(system, shape, { ...timing, seed: 7 + rate });
      say(`  ${describe(m)}`);
      points.push(m);
      if (keptUp(m)) {
        lastOk[system] = m.offered;
        break;
      }
    }
  }
  for (const rate of ladder) {
    for (const system of SYSTEMS) {
      if (saturated[system]) continue;
      const shape = { ...base, rate };
      say(`fanout saturation: ${system} at ${clients * rate} edits/s (${rate}/s per client)…`);
      const m = await measure(system, shape, { ...timing, seed: 7 + rate });
      say(`  ${describe(m)}`);
      points.push(m);
      if (keptUp(m)) lastOk[system] = m.offered;
      else saturated[system] = true;
    }
    if (SYSTEMS.every((s) => saturated[s])) break;
  }

  const figures: Record<string, Figure> = {};
  const fig = (name: string, values: number[], unit: string) => {
    figures[name] = figure(values, unit);
    return figures[name]!;
  };
  for (const system of SYSTEMS) {
    const ms = main[system];
    fig(
      `${system}.deliveryP50Ms`,
      ms.map((m) => m.delivery.p50),
      'ms',
    );
    fig(
      `${system}.deliveryP99Ms`,
      ms.map((m) => m.delivery.p99),
      'ms',
    );
    fig(
      `${system}.deliveryP999Ms`,
      ms.map((m) => m.delivery.p999),
      'ms',
    );
    fig(
      `${system}.serverCpuPct`,
      ms.map((m) => m.serverCpuPct),
      '% core',
    );
    fig(
      `${system}.serverRssMiB`,
      ms.map((m) => m.serverRssMiB),
      'MiB',
    );
    fig(
      `${system}.serverRssPeakMiB`,
      ms.map((m) => m.serverRssPeakMiB),
      'MiB',
    );
    fig(
      `${system}.generatorCpuPct`,
      ms.map((m) => m.generatorCpuPct),
      '% core',
    );
    fig(`${system}.saturationEditsPerSec`, [lastOk[system]], 'edits/s');
  }
  for (const system of SYSTEMS.filter(speaksLattice)) {
    fig(
      `${system}.ackP50Ms`,
      main[system].map((m) => m.ack.p50),
      'ms',
    );
    fig(
      `${system}.ackP99Ms`,
      main[system].map((m) => m.ack.p99),
      'ms',
    );
  }
  // Ratios per interleaved pair (run r of each), then the median.
  const pairs = main.lattice.map((l, i) => [l, main.hocuspocus[i]!] as const);
  const cpuRatio = fig(
    'ratio.cpuLatticeOverHocuspocus',
    pairs.map(([l, h]) => l.serverCpuPct / h.serverCpuPct),
    '×',
  );
  const rssRatio = fig(
    'ratio.rssLatticeOverHocuspocus',
    pairs.map(([l, h]) => l.serverRssMiB / h.serverRssMiB),
    '×',
  );
  const satRatio = lastOk.hocuspocus > 0 ? lastOk.lattice / lastOk.hocuspocus : Number.NaN;
  figures['ratio.saturationLatticeOverHocuspocus'] = figure([satRatio], '×');
  // What share of Hocuspocus's CPU the wire alone takes: above 0.5, "≤ ½ Hocuspocus" is out of reach on Node.
  const floorPairs = main.floor.map((f, i) => [f, main.hocuspocus[i]!, main.lattice[i]!] as const);
  const floorCpuRatio = fig(
    'ratio.cpuFloorOverHocuspocus',
    floorPairs.map(([f, h]) => f.serverCpuPct / h.serverCpuPct),
    '×',
  );
  const floorRssRatio = fig(
    'ratio.rssFloorOverHocuspocus',
    floorPairs.map(([f, h]) => f.serverRssMiB / h.serverRssMiB),
    '×',
  );
  const latticeOverFloor = fig(
    'ratio.cpuLatticeOverFloor',
    floorPairs.map(([f, , l]) => l.serverCpuPct / f.serverCpuPct),
    '×',
  );

  const satText = (s: System) => {
    if (lastOk[s] === 0) {
      // Not even the lowest step kept up.
      const lowest = Math.min(...points.filter((m) => m.system === s).map((m) => m.offered));
      return `< ${lowest} edits/s`;
    }
    return `${lastOk[s]}${saturated[s] ? '' : '+'} edits/s`;
  };
  const columns = [
    'system',
    'load',
    'offered edits/s',
    'delivery p50 ms',
    'delivery p99 ms',
    'delivery p999 ms',
    'ack p50 ms',
    'ack p99 ms',
    'server CPU % core',
    'server RSS MiB (window mean)',
    'generators CPU % core',
    'generator lag p99 ms',
    'delivered',
  ];
  const rows: Array<Array<string | number>> = [];
  for (const system of SYSTEMS) {
    const ms = main[system];
    const f = (name: string, digits = 1) => formatFigure(figures[`${system}.${name}`]!, digits);
    const lat = (name: string) => latency(figures[`${system}.${name}`]!);
    rows.push([
      `**${LABEL[system]}** (median of ${ms.length})`,
      `${clients} clients / ${base.docs} docs / ${base.rate} per s`,
      clients * base.rate,
      lat('deliveryP50Ms'),
      lat('deliveryP99Ms'),
      lat('deliveryP999Ms'),
      speaksLattice(system)
        ? `${lat('ackP50Ms')}${system === 'floor' ? ' (not durable)' : ''}`
        : 'n/a (no durable acks)',
      speaksLattice(system) ? lat('ackP99Ms') : 'n/a',
      f('serverCpuPct', 0),
      f('serverRssMiB', 0),
      f('generatorCpuPct', 0),
      formatFigure(
        figure(
          ms.map((m) => m.generatorLagP99Ms),
          'ms',
        ),
      ),
      pct(median(ms.map((m) => m.deliveredFraction))),
    ]);
  }
  for (const m of points.slice(SYSTEMS.length)) {
    rows.push([
      `${LABEL[m.system]} (saturation step)`,
      `${m.shape.docs * m.shape.perDoc} clients / ${m.shape.docs} docs / ${m.shape.rate} per s`,
      m.offered,
      num(m.delivery.p50),
      num(m.delivery.p99),
      num(m.delivery.p999),
      speaksLattice(m.system) ? num(m.ack.p50) : 'n/a',
      speaksLattice(m.system) ? num(m.ack.p99) : 'n/a',
      m.serverCpuPct.toFixed(0),
      m.serverRssMiB.toFixed(0),
      m.generatorCpuPct.toFixed(0),
      num(m.generatorLagP99Ms),
      pct(m.deliveredFraction),
    ]);
  }

  const l = (name: string) => figures[`lattice.${name}`]!;
  const h = (name: string) => figures[`hocuspocus.${name}`]!;
  const targets: TargetCheck[] = [
    {
      what: `delivery p99 at ${clients} clients / ${base.docs} docs / ${base.rate} edits/s`,
      target: '≤ 25 ms',
      measured: `${latency(l('deliveryP99Ms'))} ms (Hocuspocus ${latency(h('deliveryP99Ms'))} ms)`,
      pass: l('deliveryP99Ms').median <= 25,
    },
    {
      what: 'ack p99 (durable, LevelDB group commit)',
      target: '≤ 50 ms',
      measured: `${latency(l('ackP99Ms'))} ms`,
      pass: l('ackP99Ms').median <= 50,
    },
    {
      what: 'relay CPU / Hocuspocus CPU',
      target: '≤ 0.5×',
      measured: `${formatFigure(cpuRatio, 2)} (${formatFigure(l('serverCpuPct'), 0)} vs ${formatFigure(h('serverCpuPct'), 0)})`,
      pass: cpuRatio.median <= 0.5,
    },
    {
      what: 'relay RSS / Hocuspocus RSS',
      target: '≤ 1×',
      measured: `${formatFigure(rssRatio, 2)} (${formatFigure(l('serverRssMiB'), 0)} vs ${formatFigure(h('serverRssMiB'), 0)})`,
      pass: rssRatio.median <= 1,
    },
    {
      what: `saturation (edits/s at which delivery p99 > ${SATURATION_P99_MS} ms)`,
      target: '≥ 2× Hocuspocus',
      measured: `${satText('lattice')} vs ${satText('hocuspocus')} = ${Number.isFinite(satRatio) ? satRatio.toFixed(2) : '—'}×`,
      pass: satRatio >= 2,
    },
  ];

  await mkdir(RESULTS_DIR, { recursive: true });
  const plots = await writePlot('fanout-saturation', {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Fan-out: delivery p99 vs offered load (${clients} clients, ${base.docs} docs, one server process)`,
    width: 520,
    height: 300,
    layer: [
      {
        data: {
          values: points.map((m) => ({
            system: LABEL[m.system],
            offered: m.offered,
            // Never delivered (∞) is drawn at the top of the axis.
            p99: Math.min(Math.max(m.delivery.p99, 0.1), 10_000),
          })),
        },
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'offered',
            type: 'quantitative',
            title: 'offered load (edits/s, all clients)',
          },
          y: {
            field: 'p99',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'delivery p99 (ms, log)',
          },
          color: { field: 'system', type: 'nominal', title: null },
        },
      },
      {
        data: { values: [{ y: SATURATION_P99_MS }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  });

  const gen = (s: System) => formatFigure(figures[`${s}.generatorCpuPct`]!, 0);
  const fl = (name: string) => figures[`floor.${name}`]!;
  const notes = [
    `Transport floor (a reference, not a competitor; \`floorServer.mjs\`): a minimal \`ws\` server with the relay's ws options and per-turn write batching that only forwards each received update to the doc's other members and acks it at once (no CRDT, no storage), driven by the same Lattice clients. CPU ${formatFigure(fl('serverCpuPct'), 0)} = ${formatFigure(floorCpuRatio, 2)} Hocuspocus's in the same rounds (Lattice = ${formatFigure(latticeOverFloor, 2)} the floor); RSS ${formatFigure(fl('serverRssMiB'), 0)} (${formatFigure(floorRssRatio, 2)} Hocuspocus's); delivery p99 ${latency(fl('deliveryP99Ms'))} ms; saturation ${satText('floor')}. A floor near 0.5× Hocuspocus's CPU puts "relay CPU ≤ ½ Hocuspocus" out of reach for any Node relay that acks each edit: it would have to cost no more than this forwarder, which applies and stores nothing.`,
    `Each run: a fresh server process (Lattice: \`relay.mjs --auth off\` with LevelDB in a temp dir, group commit, durable acks; flags ${RELAY_BENCH_ARGS.join(' ')} because every client comes from 127.0.0.1 — rate limit at its default 500 frames/s, far above one typist; Hocuspocus: \`new Server()\` defaults, no persistence extension).`,
    `${clients} clients, ${base.perDoc} per doc, one WebSocket each, in ${timing.generators} load-generator processes (members of a doc split across them); each edit types one character and stamps its send time in a Y.Map under its own key; every other member records send → applied. Edit intervals jittered uniformly ±50 %. Warm-up ${timing.warmupMs / 1000} s, window ${timing.measureMs / 1000} s, drain ${timing.drainMs / 1000} s; ${runs} run(s) per system, interleaved (alternating order).`,
    'Both sides use raw-frame clients doing the same work per message (decode, apply to a Y.Doc); the stock @hocuspocus/provider does more per message and would load the generators unevenly.',
    'Hocuspocus has no durable acks (its SyncStatus is "applied in memory"), so only Lattice has ack latency. Lattice does strictly more work per edit: synced LevelDB writes (each room commits what came within 3 ms, and the store syncs the commits of all rooms within 2 ms together) and an Ack frame back.',
    `Load generators used ${gen('lattice')} (Lattice runs), ${gen('hocuspocus')} (Hocuspocus runs) and ${gen('floor')} (floor runs) of a core; the machine has 2 cores shared with other work, so absolute latencies are noisy.`,
    `Server RSS: the mean of /proc readings every ${RSS_SAMPLE_MS} ms over the window (the peak reading is in the JSON as \`serverRssPeakMiB\`). Until the tenth round it was one reading at the window's end, which landed anywhere in V8's heap growth between mark-compacts: ±10 MiB between runs of the same server.`,
    `Saturation: same clients, typing faster (${ladder.join(', ')} edits/s each) until delivery p99 > ${SATURATION_P99_MS} ms or < 99 % delivered; one run per step. "+" = not saturated by the last step (the generators, not the server, are then the limit). Saturation = the last step that kept up.`,
  ];
  return {
    name: 'fanout',
    title: 'Fan-out: Lattice relay vs Hocuspocus',
    figures,
    table: { columns, rows },
    targets,
    plots,
    notes,
  };
}

export const fanout: Benchmark = {
  name: 'fanout',
  title: 'Fan-out: Lattice relay vs Hocuspocus',
  run,
};
