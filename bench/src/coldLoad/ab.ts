/**
 * Interleaved A/B of two web builds on the cold-load benchmark (engineer
 * tool, not part of `pnpm bench`): each build is served by its own relay
 * over its own copy of the cached `--quick` data, and every round runs one
 * fresh load + returning reloads per build, alternating which goes first.
 * `RELAY_A` / `RELAY_B` (optional): the relay entry each build is served by
 * (another checkout's `apps/relay/bin/relay.mjs`), to compare relay changes too.
 *
 *   node --import tsx bench/src/coldLoad/ab.ts <distA> <distB> [rounds] [notes] [reloads]
 *
 * `FRESH_ONLY=1`: fresh loads only, each also reporting the page's main-thread
 * task and script time (CDP `Performance` metrics) until every note is on the
 * device — CPU figures that a loaded machine moves far less than wall time.
 * `SKIP_INDEXED=1` (with `FRESH_ONLY`): stop at every note on the device, not
 * at every note indexed — for throwaway builds that store notes in a way the
 * app cannot read back.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnedRelay } from '@lattice/relay/testing';
import { type Browser, chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../e2e/harness/browser.ts';
import { figure, formatFigure } from '../lib/stats.ts';
import { COLDLOAD_RELAY_ARGS, cachedWorkspace } from './generate.ts';
import { emptySamples, latticeRun, quiet, type SizeSamples } from './index.ts';
import { type RelayProcess, startRelayProcess } from './relayProcess.ts';
import { KEEP_NAMES_SHIM, waitAllSynced } from './waitSynced.ts';

const [distA, distB, roundsArg, notesArg, reloadsArg] = process.argv.slice(2);
if (distA === undefined || distB === undefined) {
  console.error('usage: ab.ts <distA> <distB> [rounds] [notes]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 3);
const notes = Number(notesArg ?? 500);
const reloads = Number(reloadsArg ?? 3);
const { data, ws } = await cachedWorkspace(notes);
const scratch = await mkdtemp(join(tmpdir(), 'lattice-coldload-ab-'));
const builds = [
  { name: 'A', dist: distA, relay: process.env.RELAY_A },
  { name: 'B', dist: distB, relay: process.env.RELAY_B },
];
const relays: Array<SpawnedRelay | RelayProcess> = [];
const browser = await chromium.launch(chromiumLaunchOptions());
const samples = new Map<string, SizeSamples>(builds.map((b) => [b.name, emptySamples()]));
const freshOnly = process.env.FRESH_ONLY === '1';
interface FreshSamples {
  wall: number[];
  task: number[];
  script: number[];
  /** Navigation → every note listed with its body indexed (none shown as arriving). */
  indexed: number[];
  /** Navigation → the first list, and app start → the first list (the page's own marks). */
  listFromNav: number[];
  listFromApp: number[];
}
const freshCpu = new Map<string, FreshSamples>(
  builds.map((b) => [
    b.name,
    { wall: [], task: [], script: [], indexed: [], listFromNav: [], listFromApp: [] },
  ]),
);

const skipIndexed = process.env.SKIP_INDEXED === '1';

/** One fresh load: wall time from navigation to every note on the device, and the page's CPU. */
async function freshLoad(browser: Browser, url: string, into: FreshSamples): Promise<void> {
  const context = await browser.newContext();
  try {
    await context.addInitScript(KEEP_NAMES_SHIM);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await quiet();
    const t0 = Date.now();
    await page.goto(`${url}/w/${ws?.workspaceId}`);
    await waitAllSynced(page, (ws?.notes ?? 0) + 1);
    into.wall.push(Date.now() - t0);
    const metrics = (await cdp.send('Performance.getMetrics')).metrics;
    const ms = (name: string) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
    into.task.push(ms('TaskDuration'));
    into.script.push(ms('ScriptDuration'));
    const marks = await page.evaluate(() =>
      Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
    );
    const listShown = marks['lattice:list-shown'] ?? Number.NaN;
    into.listFromNav.push(listShown);
    into.listFromApp.push(listShown - (marks['lattice:app-start'] ?? Number.NaN));
    if (skipIndexed) return;
    await page.waitForFunction(
      (n) => {
        const store = (
          window as unknown as {
            __lattice?: { store: { list(): Array<{ arriving: boolean; snippet: string }> } };
          }
        ).__lattice?.store;
        const list = store?.list() ?? [];
        return list.length >= n && list.every((note) => !note.arriving && note.snippet !== '');
      },
      ws?.notes ?? 0,
      { timeout: 300_000, polling: 10 },
    );
    into.indexed.push(Date.now() - t0);
  } finally {
    await context.close();
  }
}
try {
  for (const build of builds) {
    const dataDir = join(scratch, build.name);
    await cp(data.dataDir, dataDir, { recursive: true });
    const args = [...COLDLOAD_RELAY_ARGS, '--web-dir', build.dist];
    relays.push(
      build.relay === undefined
        ? await SpawnedRelay.start({ dataDir, args })
        : await startRelayProcess(build.relay, dataDir, args),
    );
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const build = builds[i] as (typeof builds)[number];
      console.log(`round ${r + 1}/${rounds}: ${build.name}`);
      const relay = relays[i] as SpawnedRelay | RelayProcess;
      if (freshOnly) {
        await freshLoad(browser, relay.url, freshCpu.get(build.name) as FreshSamples);
        continue;
      }
      await latticeRun(
        browser,
        relays[i] as SpawnedRelay | RelayProcess,
        ws,
        reloads,
        samples.get(build.name) as SizeSamples,
      );
    }
  }
} finally {
  await browser.close();
  for (const relay of relays) {
    if (relay instanceof SpawnedRelay) {
      relay.kill('SIGTERM');
      await relay.exited;
    } else await relay.stop();
  }
  await rm(scratch, { recursive: true, force: true });
}
for (const [name, c] of freshOnly ? freshCpu : []) {
  console.log(`\n${name} (${notes} notes, ${rounds} fresh loads)`);
  console.log(`  wall to all on device ${formatFigure(figure(c.wall, 'ms'))}`);
  console.log(`  page task time        ${formatFigure(figure(c.task, 'ms'))}`);
  console.log(`  page script time      ${formatFigure(figure(c.script, 'ms'))}`);
  console.log(`  wall to all indexed   ${formatFigure(figure(c.indexed, 'ms'))}`);
  console.log(`  list shown, from nav  ${formatFigure(figure(c.listFromNav, 'ms'))}`);
  console.log(`  list shown, after app ${formatFigure(figure(c.listFromApp, 'ms'))}`);
}
for (const [name, s] of freshOnly ? [] : samples) {
  console.log(`\n${name} (${notes} notes, ${rounds} rounds)`);
  for (const [key, values] of Object.entries(s) as Array<[string, number[]]>) {
    if (values.length > 0) console.log(`  ${key.padEnd(18)} ${formatFigure(figure(values, 'ms'))}`);
  }
}
