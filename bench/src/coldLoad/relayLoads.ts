/**
 * The relay's room loads for a fresh device (engineer tool, not part of
 * `pnpm bench`): `LevelStorage.load` of every doc of the cached cold-load
 * workspace, one at a time (an iterator each, as before the tenth round)
 * and all in one turn (read together: one key read and one multi-get),
 * alternating, on a copy of the relay's data. Prints CPU and wall time per
 * pass.
 *
 *   node --import tsx bench/src/coldLoad/relayLoads.ts [notes] [rounds]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStorage } from '@lattice/relay';
import { figure, formatFigure } from '../lib/stats.ts';
import { cachedWorkspace } from './generate.ts';

const notes = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 8);
const { data, ws } = await cachedWorkspace(notes);
const names = [ws.workspaceId, ...ws.noteIds.map((id) => `${ws.workspaceId}/${id}`)];
const scratch = await mkdtemp(join(tmpdir(), 'lattice-relay-loads-'));
await cp(data.dataDir, scratch, { recursive: true });
const storage = await LevelStorage.open(scratch, { verify: false });
const passes = {
  'one at a time': async () => {
    for (const name of names) await storage.load(name);
  },
  'all in one turn': async () => {
    await Promise.all(names.map((name) => storage.load(name)));
  },
};
const cpu = new Map<string, number[]>();
const wall = new Map<string, number[]>();
try {
  for (let r = 0; r < rounds; r++) {
    const order = Object.entries(passes);
    if (r % 2 === 1) order.reverse();
    for (const [name, pass] of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await pass();
      const used = process.cpuUsage(c0);
      wall.set(name, [...(wall.get(name) ?? []), performance.now() - t0]);
      cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / 1000]);
    }
  }
  for (const name of Object.keys(passes)) {
    console.log(
      `${name} (${names.length} docs, ${rounds} rounds): CPU ${formatFigure(figure(cpu.get(name) ?? [], 'ms'))}, ` +
        `wall ${formatFigure(figure(wall.get(name) ?? [], 'ms'))}`,
    );
  }
} finally {
  await storage.close();
  await rm(scratch, { recursive: true, force: true });
}
