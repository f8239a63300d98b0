/**
 * Benchmark 3, cold load in a real browser (`pnpm bench coldload`).
 *
 * Workspaces of 1,000 and 5,000 notes (keystroke-level history, ~5 KB of Yjs
 * state per note; `generate.ts`) live in a real relay process's LevelDB; the
 * relay serves the built web app. In Debian Chromium (Playwright):
 *
 * - fresh browser (new context, empty IndexedDB): navigation → note list
 *   shown (`lattice:list-shown`) → every note stored on the device (the
 *   replica's `progress` covers index + every note doc and the status is
 *   `synced`: each doc's relay state applied, stored and acked);
 * - returning browser (same context, reload at a note's URL): app start
 *   (`lattice:app-start`) → list shown → the note's text shown
 *   (`lattice:note-shown`), then a click on another note → its text shown;
 * - the comparisons, interleaved in the same run and browser: the same notes
 *   in ONE `Y.Doc` loaded by y-indexeddb (`whenSynced`), a bare
 *   `Y.applyUpdate` of that state, and the raw transfer + apply of every
 *   doc's state (one HTTP response, one `Y.Doc` per doc: the limit for a
 *   fresh device).
 *
 * Marks are User Timing entries set by the web app (apps/web/src/lib/marks.ts);
 * their `startTime` is ms since navigation start.
 */
import { execFile } from 'node:child_process';
import { existsSync, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SpawnedRelay } from '@lattice/relay/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../e2e/harness/browser.ts';
import type { Benchmark, BenchOptions } from '../lib/benchmark.ts';
import { writePlot } from '../lib/plot.ts';
import { say } from '../lib/progress.ts';
import type { BenchResult, TargetCheck } from '../lib/results.ts';
import { settle } from '../lib/settle.ts';
import { type Figure, figure, formatFigure } from '../lib/stats.ts';
import { startBaselineServer } from './baselineServer.ts';
import {
  COLDLOAD_RELAY_ARGS,
  coldLoadData,
  NOTE_CHARS,
  type WorkspaceManifest,
} from './generate.ts';
import { KEEP_NAMES_SHIM, waitForMark } from './waitSynced.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WEB_DIST = join(REPO_ROOT, 'apps', 'web', 'dist');

/** Samples of one workspace size, one entry per run. */
export interface SizeSamples {
  freshListFromNav: number[];
  freshListFromApp: number[];
  freshAllFromNav: number[];
  /** The same, from the app's start (its script running): no page download or parse, as the raw baseline. */
  freshAllFromApp: number[];
  freshRelayCpuS: number[];
  retListFromNav: number[];
  retListFromApp: number[];
  retNoteFromApp: number[];
  clickOpen: number[];
  idbWhenSynced: number[];
  bareApply: number[];
  rawTotal: number[];
  rawTransfer: number[];
  rawApply: number[];
  /** fresh all-on-device / raw transfer + apply, per run (same run, interleaved). */
  freshOverRaw: number[];
  /** The same from the app's start (information: the target is judged from navigation). */
  freshFromAppOverRaw: number[];
}

export function emptySamples(): SizeSamples {
  return {
    freshListFromNav: [],
    freshListFromApp: [],
    freshAllFromNav: [],
    freshAllFromApp: [],
    freshRelayCpuS: [],
    retListFromNav: [],
    retListFromApp: [],
    retNoteFromApp: [],
    clickOpen: [],
    idbWhenSynced: [],
    bareApply: [],
    rawTotal: [],
    rawTransfer: [],
    rawApply: [],
    freshOverRaw: [],
    freshFromAppOverRaw: [],
  };
}

/** How long a fresh device may take to hold every note before the run counts it as a miss. */
const FRESH_TIMEOUT_MS = 600_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `settle`, saying so when the machine stayed busy and the measurement runs anyway. */
export async function quiet(): Promise<void> {
  if ((await settle()) === 'busy')
    say('coldload: the machine stayed busy for 5 s; measuring anyway');
}

/** What the web build is made from: a source newer than the build means it is stale. */
const WEB_SOURCES = [
  'apps/web/src',
  'apps/web/index.html',
  'apps/web/vite.config.ts',
  'packages/replication/src',
  'packages/notes/src',
];

/** Newest modification time under `path` (a file or a directory tree), 0 when absent. */
async function newestMtime(path: string): Promise<number> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

/**
 * Builds the web app when the build is missing, has no marks, or is older
 * than a source it is made from: a stale build measured the code before a
 * change without saying so (issue 6, eleventh round).
 */
async function ensureWebBuild(): Promise<void> {
  let why: string | null = 'is missing';
  if (existsSync(join(WEB_DIST, 'index.html'))) {
    why = 'has no lattice:* marks';
    for (const file of await readdir(join(WEB_DIST, 'assets'))) {
      if (!file.endsWith('.js')) continue;
      if ((await readFile(join(WEB_DIST, 'assets', file), 'utf8')).includes('lattice:app-start')) {
        why = null;
        break;
      }
    }
    if (why === null) {
      const built = (await stat(join(WEB_DIST, 'index.html'))).mtimeMs;
      for (const source of WEB_SOURCES) {
        if ((await newestMtime(join(REPO_ROOT, source))) > built) {
          why = `is older than ${source}`;
          break;
        }
      }
    }
  }
  if (why === null) return;
  say(`coldload: apps/web/dist ${why} — running \`pnpm build\``);
  await promisify(execFile)('pnpm', ['build'], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
}

interface MarkEntry {
  name: string;
  startTime: number;
  detail: unknown;
}

async function readMarks(page: Page): Promise<MarkEntry[]> {
  return page.evaluate(() =>
    performance.getEntriesByType('mark').map((m) => ({
      name: m.name,
      startTime: m.startTime,
      detail: (m as PerformanceMark).detail,
    })),
  );
}

function markTime(marks: readonly MarkEntry[], name: string): number {
  const found = marks.find((m) => m.name === name);
  if (found === undefined) throw new Error(`coldload: no ${name} mark`);
  return found.startTime;
}

/**
 * In the page from its first script on: once the app exposes its replica,
 * marks `bench:all-on-device` when every one of `docs` docs finished its
 * initial exchange (relay state applied and stored locally, our reply acked)
 * and the workspace reports `synced`.
 */
function watchAllOnDevice(docs: number): void {
  interface Lattice {
    replica: {
      progress: { synced: number; total: number };
      status: { state: string };
      onStatus(listener: () => void): () => void;
    };
  }
  const poll = () => {
    const lattice = (window as unknown as { __lattice?: Lattice }).__lattice;
    if (lattice === undefined) {
      setTimeout(poll, 5);
      return;
    }
    const { replica } = lattice;
    let unsubscribe: (() => void) | null = null;
    let done = false;
    const check = () => {
      const { synced, total } = replica.progress;
      if (done || replica.status.state !== 'synced' || total < docs || synced < total) return;
      done = true;
      performance.mark('bench:all-on-device', { detail: { synced, total } });
      unsubscribe?.();
    };
    unsubscribe = replica.onStatus(check);
    check();
  };
  poll();
}

/**
 * Clicks the first list entry other than the open note and resolves with the
 * ms from the click to that note's text in the editor (`lattice:note-shown`).
 */
export async function clickOpen(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const button = document.querySelector<HTMLButtonElement>(
          '[data-testid=note-item] button.note-open:not([aria-current])',
        );
        if (button === null) {
          reject(new Error('no other note in the list'));
          return;
        }
        let clicked = 0;
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            if (entry.name === 'lattice:note-shown' && entry.startTime >= clicked) {
              observer.disconnect();
              resolve(entry.startTime - clicked);
            }
          }
        });
        observer.observe({ type: 'mark' });
        setTimeout(() => reject(new Error('note not shown within 30 s')), 30_000);
        clicked = performance.now();
        button.click();
      }),
  );
}

/** One fresh load (new context) followed by `returning` reloads in that context. */
export async function latticeRun(
  browser: Browser,
  relay: Pick<SpawnedRelay, 'url' | 'cpuSeconds'>,
  ws: WorkspaceManifest,
  returning: number,
  into: SizeSamples,
): Promise<void> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(KEEP_NAMES_SHIM);
    await context.addInitScript(watchAllOnDevice, ws.notes + 1);
    const page = await context.newPage();
    page.on('pageerror', (err) => say(`coldload: [pageerror] ${err.message}`));
    // Not sharing the cores with the step before (a closed context's teardown).
    await quiet();
    const cpuBefore = await relay.cpuSeconds();
    await page.goto(`${relay.url}/w/${ws.workspaceId}`);
    await waitForMark(page, 'lattice:list-shown', 120_000);
    let complete = true;
    try {
      await waitForMark(page, 'bench:all-on-device', FRESH_TIMEOUT_MS);
    } catch {
      // Reported as a miss (∞) instead of aborting the other sizes and runs.
      complete = false;
      say(
        `coldload: a fresh device did not hold all ${ws.notes} notes within ${FRESH_TIMEOUT_MS / 1000} s`,
      );
    }
    into.freshRelayCpuS.push((await relay.cpuSeconds()) - cpuBefore);
    const fresh = await readMarks(page);
    const listed = fresh.find((m) => m.name === 'lattice:list-shown')?.detail as
      | { count?: number }
      | undefined;
    if (listed?.count !== ws.notes) {
      say(`coldload: fresh list first showed ${listed?.count} of ${ws.notes} notes`);
    }
    into.freshListFromNav.push(markTime(fresh, 'lattice:list-shown'));
    into.freshListFromApp.push(
      markTime(fresh, 'lattice:list-shown') - markTime(fresh, 'lattice:app-start'),
    );
    into.freshAllFromNav.push(
      complete ? markTime(fresh, 'bench:all-on-device') : Number.POSITIVE_INFINITY,
    );
    into.freshAllFromApp.push(
      complete
        ? markTime(fresh, 'bench:all-on-device') - markTime(fresh, 'lattice:app-start')
        : Number.POSITIVE_INFINITY,
    );
    // As a device left open would: every note indexed and the search index persisted.
    if (complete)
      await page.evaluate(async () => {
        await (
          window as unknown as { __lattice: { store: { whenIndexed(): Promise<void> } } }
        ).__lattice.store.whenIndexed();
      });
    await sleep(1500);
    for (let i = 0; i < returning; i++) {
      const noteId = ws.noteIds[(i * 7 + 3) % ws.noteIds.length] as string;
      await quiet();
      await page.goto(`${relay.url}/w/${ws.workspaceId}/${noteId}`);
      await waitForMark(page, 'lattice:list-shown', 60_000);
      await waitForMark(page, 'lattice:note-shown', 60_000);
      const marks = await readMarks(page);
      const appStart = markTime(marks, 'lattice:app-start');
      into.retListFromNav.push(markTime(marks, 'lattice:list-shown'));
      into.retListFromApp.push(markTime(marks, 'lattice:list-shown') - appStart);
      into.retNoteFromApp.push(markTime(marks, 'lattice:note-shown') - appStart);
      // Let start-up work settle (sync with the relay) before the click, as a person would.
      await sleep(300);
      into.clickOpen.push(await clickOpen(page));
    }
  } finally {
    await context.close();
  }
}

interface BaselineApi {
  storeOne(n: number): Promise<number>;
  loadOne(n: number): Promise<{ ms: number; notes: number }>;
  bareApply(n: number): Promise<{ ms: number; notes: number }>;
  rawTransfer(
    n: number,
  ): Promise<{ transferMs: number; applyMs: number; bytes: number; docs: number }>;
}

/** The comparisons, each in a freshly loaded page (no warm heap from the step before). */
async function baselineRun(
  browser: Browser,
  url: string,
  n: number,
  into: SizeSamples,
): Promise<void> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(KEEP_NAMES_SHIM);
    const page = await context.newPage();
    page.on('pageerror', (err) => say(`coldload: [baseline pageerror] ${err.message}`));
    const fresh = async () => {
      // As before each Lattice load: the next measurement starts on quiet cores.
      await quiet();
      await page.goto(url);
      await page.waitForFunction(() => 'coldLoadBaseline' in window);
    };
    // One method of the page's `window.coldLoadBaseline` (page/baseline.ts), by name.
    const call = <K extends keyof BaselineApi>(method: K) =>
      page.evaluate(
        ([name, size]) =>
          (
            window as unknown as { coldLoadBaseline: Record<string, (n: number) => unknown> }
          ).coldLoadBaseline[name]?.(size),
        [method, n] as const,
      ) as ReturnType<BaselineApi[K]>;
    await fresh();
    const stored = await call('storeOne');
    if (stored !== n) throw new Error(`coldload: one-doc baseline holds ${stored} of ${n} notes`);
    await fresh();
    const load = await call('loadOne');
    if (load.notes !== n) throw new Error(`coldload: y-indexeddb loaded ${load.notes} of ${n}`);
    into.idbWhenSynced.push(load.ms);
    await fresh();
    into.bareApply.push((await call('bareApply')).ms);
    await fresh();
    const raw = await call('rawTransfer');
    if (raw.docs !== n + 1) throw new Error(`coldload: raw transfer has ${raw.docs} docs`);
    into.rawTransfer.push(raw.transferMs);
    into.rawApply.push(raw.applyMs);
    into.rawTotal.push(raw.transferMs + raw.applyMs);
  } finally {
    await context.close();
  }
}

async function run(options: BenchOptions): Promise<BenchResult> {
  const sizes = options.quick ? [100, 500] : [1000, 5000];
  const runs = options.runs ?? (options.quick ? 2 : 5);
  const returning = options.quick ? 2 : 3;
  await ensureWebBuild();
  const data = await coldLoadData(sizes, COLDLOAD_RELAY_ARGS);
  const relay = await SpawnedRelay.start({ dataDir: data.dataDir, args: COLDLOAD_RELAY_ARGS });
  const baseline = await startBaselineServer(data.dir);
  const launch = chromiumLaunchOptions();
  say(`coldload: Chromium ${launch.executablePath ?? '(bundled)'}; relay ${relay.url}`);
  const browser = await chromium.launch(launch);
  const samples = new Map(sizes.map((n) => [n, emptySamples()]));
  try {
    for (let r = 0; r < runs; r++) {
      for (const ws of data.workspaces) {
        const into = samples.get(ws.notes) as SizeSamples;
        say(`coldload: run ${r + 1}/${runs}, ${ws.notes} notes: Lattice fresh + returning`);
        await latticeRun(browser, relay, ws, returning, into);
        say(`coldload: run ${r + 1}/${runs}, ${ws.notes} notes: one Y.Doc, raw transfer`);
        await baselineRun(browser, baseline.url, ws.notes, into);
        into.freshOverRaw.push(
          (into.freshAllFromNav.at(-1) as number) / (into.rawTotal.at(-1) as number),
        );
        into.freshFromAppOverRaw.push(
          (into.freshAllFromApp.at(-1) as number) / (into.rawTotal.at(-1) as number),
        );
      }
    }
  } finally {
    await browser.close();
    await baseline.close();
    relay.kill('SIGTERM');
    await relay.exited;
  }
  return report(sizes, data.workspaces, samples, runs);
}

async function report(
  sizes: readonly number[],
  workspaces: readonly WorkspaceManifest[],
  samples: Map<number, SizeSamples>,
  runs: number,
): Promise<BenchResult> {
  const figures: Record<string, Figure> = {};
  const rows: Array<Array<string | number>> = [];
  const phases: Array<{ key: keyof SizeSamples; label: string; unit: string; plot: boolean }> = [
    {
      key: 'retListFromApp',
      label: 'returning: list shown, after app start',
      unit: 'ms',
      plot: true,
    },
    {
      key: 'retListFromNav',
      label: 'returning: list shown, from navigation',
      unit: 'ms',
      plot: false,
    },
    {
      key: 'retNoteFromApp',
      label: 'returning: note at URL shown, after app start',
      unit: 'ms',
      plot: true,
    },
    { key: 'clickOpen', label: 'returning: click → note text shown', unit: 'ms', plot: true },
    { key: 'idbWhenSynced', label: 'one Y.Doc: y-indexeddb whenSynced', unit: 'ms', plot: true },
    { key: 'bareApply', label: 'one Y.Doc: bare Y.applyUpdate', unit: 'ms', plot: true },
    {
      key: 'freshListFromNav',
      label: 'fresh: list shown, from navigation',
      unit: 'ms',
      plot: true,
    },
    {
      key: 'freshListFromApp',
      label: 'fresh: list shown, after app start',
      unit: 'ms',
      plot: false,
    },
    {
      key: 'freshAllFromNav',
      label: 'fresh: every note on device, from navigation',
      unit: 'ms',
      plot: true,
    },
    {
      key: 'freshAllFromApp',
      label: 'fresh: every note on device, after app start',
      unit: 'ms',
      plot: false,
    },
    { key: 'rawTotal', label: 'raw transfer + apply (all doc states)', unit: 'ms', plot: true },
    { key: 'rawTransfer', label: '… of which transfer', unit: 'ms', plot: false },
    { key: 'rawApply', label: '… of which apply', unit: 'ms', plot: false },
    { key: 'freshOverRaw', label: 'fresh every note / raw (same run)', unit: '×', plot: false },
    {
      key: 'freshFromAppOverRaw',
      label: '… counted from app start (information)',
      unit: '×',
      plot: false,
    },
    { key: 'freshRelayCpuS', label: 'relay CPU during the fresh load', unit: 's', plot: false },
  ];
  for (const phase of phases) {
    const row: Array<string | number> = [phase.label];
    for (const n of sizes) {
      const values = (samples.get(n) as SizeSamples)[phase.key];
      const f = figure(values, phase.unit);
      figures[`${phase.key}.${n}`] = f;
      row.push(formatFigure(f, phase.unit === 'ms' ? 0 : 2));
    }
    rows.push(row);
  }
  const sizeRow: Array<string | number> = ['state (index + note docs) / one Y.Doc'];
  for (const ws of workspaces) {
    sizeRow.push(
      `${(ws.stateBytes / 2 ** 20).toFixed(1)} MiB / ${(ws.oneDocBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  rows.push(sizeRow);

  const targets: TargetCheck[] = [];
  for (const n of sizes) {
    const list = figures[`retListFromApp.${n}`] as Figure;
    const open = figures[`clickOpen.${n}`] as Figure;
    const ratio = figures[`freshOverRaw.${n}`] as Figure;
    targets.push(
      {
        what: `returning, ${n} notes: list shown after app start`,
        target: '≤ 100 ms',
        measured: formatFigure(list, 0),
        pass: list.median <= 100,
      },
      {
        what: `returning, ${n} notes: note open (click → text shown)`,
        target: '≤ 16 ms',
        measured: formatFigure(open, 1),
        pass: open.median <= 16,
      },
      {
        what: `fresh, ${n} notes: every note on device vs raw transfer + apply`,
        target: '≤ 2×',
        measured: formatFigure(ratio, 2),
        pass: ratio.median <= 2,
      },
    );
  }

  const points: Array<{ notes: number; phase: string; ms: number; min: number; max: number }> = [];
  for (const phase of phases) {
    if (!phase.plot) continue;
    for (const n of sizes) {
      const f = figures[`${phase.key}.${n}`] as Figure;
      points.push({ notes: n, phase: phase.label, ms: f.median, min: f.min, max: f.max });
    }
  }
  const plots = await writePlot('coldload', {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Cold load in Chromium: time vs workspace size (median, min–max)',
    width: 520,
    height: 340,
    data: { values: points },
    encoding: {
      x: {
        field: 'notes',
        type: 'quantitative',
        title: 'notes in the workspace',
        // The measured sizes end the axis (a "nice" log axis would run on to 10,000).
        scale: { type: 'log', domain: [sizes[0] ?? 1, sizes.at(-1) ?? 1], nice: false },
        axis: { values: [...sizes] },
      },
      color: {
        field: 'phase',
        type: 'nominal',
        title: null,
        legend: { orient: 'bottom', columns: 2, labelLimit: 420 },
      },
    },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          y: { field: 'ms', type: 'quantitative', title: 'ms (log)', scale: { type: 'log' } },
        },
      },
      {
        mark: { type: 'rule' },
        encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
      },
    ],
  });

  const first = workspaces[0];
  return {
    name: 'coldload',
    title: 'Cold load in a real browser',
    figures,
    table: { columns: ['phase', ...sizes.map((n) => `${n.toLocaleString('en')} notes`)], rows },
    targets,
    plots,
    notes: [
      `Each note: ${NOTE_CHARS} characters typed keystroke by keystroke (backspaces, cursor jumps, a new Yjs client every 400 keys)` +
        (first
          ? `, ${Math.round(first.keystrokes / first.notes)} keystrokes per note on average.`
          : '.'),
      'Marks (apps/web/src/lib/marks.ts) are taken when React/CodeMirror commit the DOM, not at the next paint.',
      '"after app start": from `lattice:app-start` (the app bundle starts executing); "from navigation": from navigation start (includes fetching the page and bundle, from the service worker on a returning browser).',
      'Raw transfer + apply: every doc state the relay would send, in one HTTP response from a local static server, applied into one Y.Doc per doc, in the same Chromium; storing into IndexedDB is not included (a fresh Lattice device does store).',
      `Relay started with ${COLDLOAD_RELAY_ARGS.join(' ')} (the fresh device pulls thousands of docs over one socket).`,
      `Median (min–max) of ${runs} runs; each run loads both sizes, Lattice then the baselines, in one browser and one relay. The ratio to raw is taken per run, then the median; the target is judged from navigation, the page's download and start included (raw is timed inside an already loaded page).`,
      "Every measured load (Lattice, and each baseline page) starts once the machine is quiet (`lib/settle.ts`: under 15 % busy for 250 ms, at most 5 s); the harness waits on the page's own events, never by polling over CDP.",
    ],
  };
}

export const coldLoad: Benchmark = {
  name: 'coldload',
  title: 'Cold load in a real browser',
  run,
};
