/**
 * The relay's side of a fresh device (engineer tool, not part of `pnpm
 * bench`): a relay process over a pristine copy of the cached cold-load data
 * (every room unloaded, as after a restart or an idle period), and one
 * Node `Replica` on `MemoryStorage` tracking the index and every note doc —
 * the same protocol exchange as the browser's fresh load, without
 * IndexedDB and React. Measures the time until every doc's initial exchange
 * is done (relay state applied, our reply acked, `synced`) and the relay's
 * CPU seconds meanwhile. Builds alternate per round (A/B, interleaved).
 *
 *   node --import tsx bench/src/coldLoad/relayFresh.ts <relayA.mjs> [relayB.mjs] [notes] [rounds] [profDir]
 *
 * A relay entry is `apps/relay/bin/relay.mjs` or a bundle built by
 * `apps/relay/scripts/build.mjs` and copied aside. With `profDir`, each relay
 * runs with `--cpu-prof` (read with `bench/src/fanout/profileTop.ts`).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wsTransportFactory } from '@lattice/relay/testing';
import { MemoryStorage, Replica } from '@lattice/replication';
import { figure, formatFigure } from '../lib/stats.ts';
import { COLDLOAD_RELAY_ARGS, cachedWorkspace } from './generate.ts';
import { startRelayProcess } from './relayProcess.ts';

const args = process.argv.slice(2);
const entries = args.filter((a) => a.endsWith('.mjs'));
const [notesArg, roundsArg, profDir] = args.filter((a) => !a.endsWith('.mjs'));
if (entries.length === 0) {
  console.error('usage: relayFresh.ts <relayA.mjs> [relayB.mjs] [notes] [rounds] [profDir]');
  process.exit(2);
}
const notes = Number(notesArg ?? 1000);
const rounds = Number(roundsArg ?? 3);
const { data, ws } = await cachedWorkspace(notes);
const scratch = await mkdtemp(join(tmpdir(), 'lattice-coldload-relayfresh-'));

interface Sample {
  ms: number;
  cpuS: number;
  /** The same device reconnecting right after (its storage kept, the relay's rooms still in memory). */
  returningMs: number;
  returningCpuS: number;
}

/** Tracks every doc of the workspace and resolves with the ms until all are synced. */
async function syncAll(replica: Replica, docs: readonly string[]): Promise<number> {
  const started = performance.now();
  for (const doc of docs) replica.track(doc);
  await new Promise<void>((resolve) => {
    const check = () => {
      const { synced, total } = replica.progress;
      if (replica.status.state === 'synced' && total >= docs.length && synced >= total) {
        unsubscribe();
        resolve();
      }
    };
    const unsubscribe = replica.onStatus(check);
    check();
  });
  return performance.now() - started;
}

async function freshLoad(entry: string, round: number): Promise<Sample> {
  const dataDir = join(scratch, `r${round}`);
  await cp(data.dataDir, dataDir, { recursive: true });
  const nodeArgs = profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir];
  const relay = await startRelayProcess(entry, dataDir, COLDLOAD_RELAY_ARGS, nodeArgs);
  // Start-up (the fingerprint index reads a record per doc) is not the fresh load: wait it out.
  for (let last = await relay.cpuSeconds(); ; ) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await relay.cpuSeconds();
    if (now - last < 0.02) break;
    last = now;
  }
  const storage = new MemoryStorage();
  const device = () =>
    new Replica({
      storage,
      relays: [`${relay.url.replace(/^http/, 'ws')}/sync`],
      transportFactory: wsTransportFactory,
      onError: (error) => console.error(`replica: ${error.message}`),
    });
  let replica = device();
  try {
    const docs = [ws.workspaceId, ...ws.noteIds.map((id) => `${ws.workspaceId}/${id}`)];
    let cpuBefore = await relay.cpuSeconds();
    const ms = await syncAll(replica, docs);
    const cpuS = (await relay.cpuSeconds()) - cpuBefore;
    await replica.destroy();
    replica = device();
    cpuBefore = await relay.cpuSeconds();
    const returningMs = await syncAll(replica, docs);
    return { ms, cpuS, returningMs, returningCpuS: (await relay.cpuSeconds()) - cpuBefore };
  } finally {
    await replica.destroy();
    await relay.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const results = entries.map(() => ({
  ms: [] as number[],
  cpu: [] as number[],
  retMs: [] as number[],
  retCpu: [] as number[],
}));
try {
  for (let r = 0; r < rounds; r++) {
    const order = entries.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const sample = await freshLoad(entries[i] as string, r * entries.length + i);
      const into = results[i];
      into?.ms.push(sample.ms);
      into?.cpu.push(sample.cpuS * 1000);
      into?.retMs.push(sample.returningMs);
      into?.retCpu.push(sample.returningCpuS * 1000);
      console.log(
        `round ${r + 1} ${entries[i]}: fresh ${sample.ms.toFixed(0)} ms (relay CPU ${(sample.cpuS * 1000).toFixed(0)} ms), ` +
          `returning ${sample.returningMs.toFixed(0)} ms (relay CPU ${(sample.returningCpuS * 1000).toFixed(0)} ms)`,
      );
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
for (const [i, entry] of entries.entries()) {
  const s = results[i];
  if (s === undefined) continue;
  console.log(`\n${entry} (${notes} notes, ${rounds} rounds)`);
  console.log(`  fresh: all docs synced       ${formatFigure(figure(s.ms, 'ms'))}`);
  console.log(`  fresh: relay CPU             ${formatFigure(figure(s.cpu, 'ms'))}`);
  console.log(`  returning: all docs synced   ${formatFigure(figure(s.retMs, 'ms'))}`);
  console.log(`  returning: relay CPU         ${formatFigure(figure(s.retCpu, 'ms'))}`);
}
