/**
 * CPU profile of a returning cold load (engineer tool, not part of `pnpm
 * bench`): a relay serving `<dist>` (ideally an unminified build) over a copy
 * of the cached `--quick` data; a fresh load until every note is on the
 * device and indexed, then a reload at a note's URL under the CDP profiler
 * until the note is shown and the page settled, then a click on another note
 * (1,000 and 5,000 notes use the full-size cache).
 * Mode `click` profiles only that click (after the reload settled for 3 s),
 * mode `fresh` only the fresh load, mode `clicks` times 20 clicks (the profile then
 * covers all of them). Mode `reloads` (no profiler) repeats the benchmark's own
 * returning step 12 times — reload at a note's URL, 300 ms after its text shows
 * a click on another note — for more click samples per build than `ab.ts` gives.
 *
 *   node --import tsx bench/src/coldLoad/profile.ts <dist> <out.cpuprofile> [notes] [returning|click|clicks|fresh]
 *
 * Read it with `node --import tsx bench/src/fanout/profileTop.ts <out>`.
 * `ALL_FRAMES=1` prints every socket frame of a fresh load (not just the first
 * 12); `RELAY_PROF=<dir>` profiles the relay process too.
 */
import { writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../e2e/harness/browser.ts';
import { cachedWorkspace, relayOverCopy } from './generate.ts';
import { clickOpen, emptySamples, latticeRun } from './index.ts';
import { KEEP_NAMES_SHIM, waitAllSynced } from './waitSynced.ts';

const [dist, out, notesArg, mode = 'returning'] = process.argv.slice(2);
if (dist === undefined || out === undefined) {
  console.error(
    'usage: profile.ts <dist> <out.cpuprofile> [notes] [returning|click|clicks|fresh|reloads]',
  );
  process.exit(2);
}
const notes = Number(notesArg ?? 500);
const { data, ws } = await cachedWorkspace(notes);
// RELAY_PROF=<dir>: the relay's own CPU profile too, written when it exits.
const { relay, stop } = await relayOverCopy(
  data,
  dist,
  process.env.RELAY_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.RELAY_PROF] : [],
);
const browser = await chromium.launch(chromiumLaunchOptions());
/** Ends a fresh-load profile early (the returning part is skipped). */
class Done extends Error {}
try {
  // Warm-up: a fresh load in a context of its own, as in the benchmark.
  if (mode !== 'fresh') await latticeRun(browser, relay, ws, 0, emptySamples());
  // latticeRun closes its context; profile a returning load in a context of our own.
  const ctx = await browser.newContext();
  await ctx.addInitScript(KEEP_NAMES_SHIM);
  const page = await ctx.newPage();
  page.on('console', (m) => console.log(`[console] ${m.text()}`));
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Performance.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  // Fresh mode: the page's own socket frames, on the profile's clock (CDP monotonic seconds).
  const cdpFrames: { at: number; dir: string; size: number; head: string }[] = [];
  if (mode === 'fresh') {
    await cdp.send('Network.enable');
    const onFrame =
      (dir: string) => (event: { timestamp: number; response: { payloadData: string } }) => {
        // Binary payloads come base64-encoded: 4 characters per 3 bytes.
        const data = Buffer.from(event.response.payloadData, 'base64');
        cdpFrames.push({
          at: event.timestamp,
          dir,
          size: data.length,
          head: data.subarray(0, 6).toString('hex'),
        });
      };
    cdp.on('Network.webSocketFrameSent', onFrame('up'));
    cdp.on('Network.webSocketFrameReceived', onFrame('down'));
    // The relay reads its `fp:` records after it listens: let that finish first.
    await new Promise((r) => setTimeout(r, 2000));
    await cdp.send('Profiler.start');
  }
  const t0 = Date.now();
  // Frame timeline of the fresh load: when the relay's answers arrive and ours leave.
  const frames: string[] = [];
  page.on('websocket', (socket) => {
    const log = (dir: string) => (event: { payload: string | Buffer }) => {
      const size = typeof event.payload === 'string' ? event.payload.length : event.payload.length;
      // Fresh mode logs every frame (the start-up's small Hello/auth/sub frames too).
      if (size > 64 || mode === 'fresh') frames.push(`${Date.now() - t0} ${dir} ${size}`);
    };
    socket.on('framereceived', log('down'));
    socket.on('framesent', log('up'));
  });
  await page.goto(`${relay.url}/w/${ws.workspaceId}`);
  await waitAllSynced(page, ws.notes + 1);
  console.log(`fresh: all on device after ${Date.now() - t0} ms`);
  // Main-thread busy time of the page so far: robust to a loaded machine, unlike wall time.
  const busy = (await cdp.send('Performance.getMetrics')).metrics
    .filter((m) => m.name === 'TaskDuration' || m.name === 'ScriptDuration')
    .map((m) => `${m.name} ${(m.value * 1000).toFixed(0)} ms`);
  console.log(`fresh: page ${busy.join(', ')}`);
  if (mode === 'fresh') {
    console.log(frames.join('\n'));
    // The page's own marks, relative to navigation (the frames above count from just before it).
    const marks = await page.evaluate(() =>
      [...performance.getEntriesByType('mark'), ...performance.getEntriesByType('resource')].map(
        (m) => `${m.startTime.toFixed(0)}+${m.duration.toFixed(0)} ${m.entryType} ${m.name}`,
      ),
    );
    console.log(marks.join('\n'));
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    console.log(
      metrics
        .split('\n')
        .filter((l) => /reject|close|disconnect/.test(l) && !l.startsWith('#'))
        .join('\n'),
    );
  }
  if (mode === 'fresh') {
    const { profile } = await cdp.send('Profiler.stop');
    await writeFile(out, JSON.stringify(profile));
    // The first frames (hello, subscriptions, the index doc's answer) on the profile's time axis.
    console.log(
      cdpFrames
        .slice(0, process.env.ALL_FRAMES ? undefined : 12)
        .map(
          (f) =>
            `cdp ${((f.at * 1e6 - profile.startTime) / 1000).toFixed(0)} ${f.dir} ${f.size} ${f.head}`,
        )
        .join('\n'),
    );
    throw new Done();
  }
  await page.evaluate(() =>
    (
      window as unknown as { __lattice: { store: { whenIndexed(): Promise<void> } } }
    ).__lattice.store.whenIndexed(),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const taskTime = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')
      ?.value ?? 0;
  if (mode === 'reloads') {
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await page.goto(
        `${relay.url}/w/${ws.workspaceId}/${ws.noteIds[(i * 7 + 3) % ws.noteIds.length]}`,
      );
      await page.waitForFunction(
        () => performance.getEntriesByName('lattice:note-shown', 'mark').length > 0,
        null,
        { timeout: 60_000 },
      );
      await new Promise((r) => setTimeout(r, 300));
      times.push(await clickOpen(page));
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `reloads, click → note shown: median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, min ${sorted[0]?.toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}; ${times.map((t) => t.toFixed(0)).join(' ')}`,
    );
    throw new Done();
  }
  const taskBefore = await taskTime();
  if (mode !== 'click' && mode !== 'clicks') await cdp.send('Profiler.start');
  await page.goto(`${relay.url}/w/${ws.workspaceId}/${ws.noteIds[3]}`);
  await page.waitForFunction(
    () => performance.getEntriesByName('lattice:note-shown', 'mark').length > 0,
    null,
    {
      timeout: 60_000,
    },
  );
  console.log(
    `returning: page task time since navigation ${((await taskTime()) * 1000).toFixed(0)} ms (before it: ${(taskBefore * 1000).toFixed(0)})`,
  );
  await new Promise((r) => setTimeout(r, 3000));
  if (mode === 'click') {
    await cdp.send('Profiler.start');
    console.log(`click → note shown: ${(await clickOpen(page)).toFixed(1)} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
  if (mode === 'clicks') {
    // Many clicks in one page, no profiler: a steadier click figure than the benchmark's 3 per run.
    await cdp.send('Profiler.start');
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      times.push(await clickOpen(page));
      await new Promise((r) => setTimeout(r, 400));
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `clicks → note shown: median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, min ${sorted[0]?.toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}; ${times.map((t) => t.toFixed(0)).join(' ')}`,
    );
  }
  const marks = await page.evaluate(() =>
    performance.getEntriesByType('mark').map((m) => `${m.name} ${m.startTime.toFixed(0)}`),
  );
  const { profile } = await cdp.send('Profiler.stop');
  await writeFile(out, JSON.stringify(profile));
  console.log(marks.join('\n'));
  await ctx.close();
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await browser.close();
  await stop();
}
