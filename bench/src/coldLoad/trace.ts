/**
 * Where a fresh load's CPU goes, across every Chromium process (engineer tool,
 * not part of `pnpm bench`): one fresh load of the cached 1,000-note workspace
 * (relay over a copy of the data, serving `<dist>`) under Chrome tracing, then
 * per thread the self time of its trace events, and V8's optimizing compiles
 * (Maglev and TurboFan jobs run on the renderer's worker threads, competing
 * with the page, IndexedDB and the relay for this machine's two cores).
 * Tracing inflates every figure; compare shares, not milliseconds.
 *
 *   node --import tsx bench/src/coldLoad/trace.ts <dist> <out.json> [notes]
 *
 * `<out.json>` opens in Perfetto (ui.perfetto.dev) or `chrome://tracing`.
 */
import { writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../e2e/harness/browser.ts';
import { cachedWorkspace, relayOverCopy } from './generate.ts';
import { KEEP_NAMES_SHIM, waitAllSynced } from './waitSynced.ts';

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'toplevel',
  'blink',
  'loading',
  'IndexedDB',
  'v8',
  'v8.execute',
  'disabled-by-default-v8.gc',
  'disabled-by-default-v8.compile',
  'disabled-by-default-v8.turbofan',
];
/** Threads with less top-level time than this are left out of the report. */
const MIN_THREAD_MS = 20;
const ROWS_PER_THREAD = 12;

interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: Record<string, unknown>;
}

const [dist, out, notesArg] = process.argv.slice(2);
if (dist === undefined || out === undefined) {
  console.error('usage: trace.ts <dist> <out.json> [notes]');
  process.exit(2);
}
const notes = Number(notesArg ?? 1000);
const { data, ws } = await cachedWorkspace(notes);
const { relay, stop } = await relayOverCopy(data, dist);
const browser = await chromium.launch(chromiumLaunchOptions());
let trace: Buffer;
try {
  const context = await browser.newContext();
  await context.addInitScript(KEEP_NAMES_SHIM);
  const page = await context.newPage();
  // The relay reads its fingerprint records after it listens: let that finish first.
  await new Promise((r) => setTimeout(r, 2000));
  await browser.startTracing(page, { categories: CATEGORIES });
  const t0 = Date.now();
  await page.goto(`${relay.url}/w/${ws.workspaceId}`);
  await waitAllSynced(page, ws.notes + 1);
  console.log(`fresh: every note on the device after ${Date.now() - t0} ms (traced)`);
  trace = await browser.stopTracing();
} finally {
  await browser.close();
  await stop();
}
await writeFile(out, trace);

const parsed = JSON.parse(trace.toString('utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
const events = Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
const threadNames = new Map<string, string>();
const processNames = new Map<number, string>();
for (const e of events) {
  if (e.ph !== 'M') continue;
  const name = String(e.args?.name ?? '');
  if (e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, name);
  if (e.name === 'process_name') processNames.set(e.pid, name);
}

// Self time per event name and thread: an event's duration less its children's.
const byThread = new Map<string, TraceEvent[]>();
for (const e of events) {
  if (e.ph !== 'X' || e.dur === undefined) continue;
  const key = `${e.pid}:${e.tid}`;
  const list = byThread.get(key);
  if (list) list.push(e);
  else byThread.set(key, [e]);
}
const threads: { label: string; topMs: number; rows: [string, number][] }[] = [];
for (const [key, list] of byThread) {
  list.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  const open: TraceEvent[] = [];
  let top = 0;
  for (const e of list) {
    while (open.length > 0) {
      const last = open.at(-1) as TraceEvent;
      if (last.ts + (last.dur ?? 0) > e.ts) break;
      open.pop();
    }
    const parent = open.at(-1);
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - (e.dur ?? 0));
    else top += e.dur ?? 0;
    self.set(e.name, (self.get(e.name) ?? 0) + (e.dur ?? 0));
    open.push(e);
  }
  if (top / 1000 < MIN_THREAD_MS) continue;
  const pid = Number(key.split(':')[0]);
  threads.push({
    label: `${processNames.get(pid) ?? pid} / ${threadNames.get(key) ?? key}`,
    topMs: top / 1000,
    rows: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, ROWS_PER_THREAD)
      .map(([name, us]) => [name, us / 1000]),
  });
}
threads.sort((a, b) => b.topMs - a.topMs);
for (const t of threads) {
  console.log(`\n${t.label}: ${t.topMs.toFixed(0)} ms in top-level events`);
  for (const [name, ms] of t.rows) console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${name}`);
}

// Optimizing compiles: Maglev jobs by count, TurboFan jobs by function (names as bundled).
const sum = (name: string) =>
  events.filter((e) => e.ph === 'X' && e.name === name).reduce((a, e) => a + (e.dur ?? 0), 0);
const count = (name: string) => events.filter((e) => e.ph === 'X' && e.name === name).length;
const turbofan = new Map<string, number>();
for (const e of events) {
  if (e.ph !== 'X' || e.name !== 'V8.TFGraphCreation' || typeof e.args?.stats !== 'string')
    continue;
  try {
    const fn = (JSON.parse(e.args.stats) as { function_name?: string }).function_name ?? '?';
    turbofan.set(fn, (turbofan.get(fn) ?? 0) + 1);
  } catch {
    // Not the stats layout this Chromium writes elsewhere: skip it.
  }
}
console.log(
  `\nV8 optimizing compiles: Maglev ${count('V8.MaglevBackground')} jobs, ` +
    `${(sum('V8.MaglevBackground') / 1000).toFixed(0)} ms; TurboFan ${count('V8.OptimizeBackground')} jobs, ` +
    `${(sum('V8.OptimizeBackground') / 1000).toFixed(0)} ms (${[...turbofan]
      .sort((a, b) => b[1] - a[1])
      .map(([fn, n]) => `${fn || '(anonymous)'}×${n}`)
      .join(', ')})`,
);
console.log(`trace: ${out}`);
