/**
 * The relay store's memory under room churn: N rooms, 50 at a time, each
 * loaded, appended to and compacted (what a room does between its first
 * client and its unload), against a real LevelDB store. Prints the time and
 * the RSS the churn added, before and after a full GC (run with
 * `--expose-gc`).
 *
 *   node --expose-gc --import tsx src/storageChurn.ts [rooms] [runs]
 *
 * `STORAGE_MODULE=<checkout>/apps/relay/src/LevelStorage.ts` runs another
 * checkout's store (before/after comparisons); runs alternate between the
 * two when it is set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { procRssBytes } from '@lattice/relay/testing';

interface Store {
  load(doc: string): Promise<{ cursor: number }>;
  append(doc: string, updates: Uint8Array[]): Promise<void>;
  compact(doc: string, snapshot: Uint8Array, cursor: number): Promise<void>;
  close(): Promise<void>;
}
interface StoreModule {
  LevelStorage: { open(dir: string): Promise<Store> };
}

const ROOMS = Number(process.argv[2] ?? 5_000);
const RUNS = Number(process.argv[3] ?? 3);
const AT_ONCE = 50;
const MiB = 2 ** 20;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (the "after GC" figure needs it)');

const rss = () => procRssBytes(process.pid);

async function churn(label: string, mod: StoreModule): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-churn-'));
  try {
    const docs = Array.from({ length: ROOMS }, (_, i) => `w/n${i}`);
    const seed = await mod.LevelStorage.open(dir);
    for (let i = 0; i < ROOMS; i += 500) {
      await Promise.all(
        docs.slice(i, i + 500).map((d) => seed.append(d, [new Uint8Array(60), new Uint8Array(60)])),
      );
    }
    await seed.close();
    // A fresh store: nothing known of any doc, as after a relay restart.
    const store = await mod.LevelStorage.open(dir);
    gc?.();
    const before = await rss();
    const started = performance.now();
    for (let i = 0; i < ROOMS; i += AT_ONCE) {
      await Promise.all(
        docs.slice(i, i + AT_ONCE).map(async (d) => {
          const { cursor } = await store.load(d);
          await store.append(d, [new Uint8Array(80)]);
          await store.compact(d, new Uint8Array(200), cursor + 1);
        }),
      );
      if ((i / AT_ONCE) % 20 === 19)
        process.stderr.write(`\r  ${label}: ${i + AT_ONCE}/${ROOMS} rooms`);
    }
    const ms = performance.now() - started;
    const grown = (await rss()) - before;
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const afterGc = (await rss()) - before;
    process.stderr.write('\r');
    console.log(
      `${label.padEnd(7)} ${ROOMS} rooms loaded, appended to, compacted: ${ms.toFixed(0)} ms, ` +
        `RSS +${(grown / MiB).toFixed(1)} MiB, after a full GC +${(afterGc / MiB).toFixed(1)} MiB`,
    );
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const current = (await import('../../apps/relay/src/LevelStorage.ts')) as StoreModule;
const other = process.env.STORAGE_MODULE;
const before =
  other === undefined ? undefined : ((await import(pathToFileURL(other).href)) as StoreModule);
for (let run = 0; run < RUNS; run++) {
  // Each in a fresh process would be fairer to the allocator; alternating
  // keeps what one run leaves behind from favouring either side.
  if (before !== undefined) await churn('before', before);
  await churn('now', current);
}
