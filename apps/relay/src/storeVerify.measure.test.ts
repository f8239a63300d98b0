import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prng from 'lib0/prng';
import { afterAll, expect, it } from 'vitest';
import { LevelStorage } from './LevelStorage.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Start-up cost of the full store check (`verify`), on a store of `STORE_MB` (default 20) MB. */
it('measures the start-up integrity check on a 20 MB store', async () => {
  const megabytes = Number(process.env.STORE_MB ?? 20);
  const dir = await mkdtemp(join(tmpdir(), 'lattice-verify-m-'));
  dirs.push(dir);
  const random = prng.create(1);
  const storage = await LevelStorage.open(dir);
  const docs = 200;
  const perDoc = Math.ceil((megabytes * 1024 * 1024) / docs / 2048);
  for (let d = 0; d < docs; d++) {
    await storage.append(
      `w${d % 20}/doc-${d}`,
      Array.from({ length: perDoc }, () => prng.uint8Array(random, 2048)),
    );
  }
  await storage.close();
  // Once to settle the write-ahead log into tables, as after any restart.
  await (await LevelStorage.open(dir, { verify: false })).close();

  const timed = async (verify: boolean) => {
    const started = performance.now();
    const s = await LevelStorage.open(dir, { verify });
    const ms = performance.now() - started;
    await s.close();
    return ms;
  };
  const without = [await timed(false), await timed(false), await timed(false)];
  const withVerify = [await timed(true), await timed(true), await timed(true)];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  console.log(
    `store ${megabytes} MB, ${docs} docs × ${perDoc} records: open ${median(without).toFixed(0)} ms, ` +
      `open + full verify ${median(withVerify).toFixed(0)} ms`,
  );
  expect(median(withVerify)).toBeGreaterThan(0);
}, 120_000);
