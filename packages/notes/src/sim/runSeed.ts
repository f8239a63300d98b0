import {
  type SimReport,
  Simulation,
  type SimulationOptions,
  VirtualTime,
} from '@lattice/replication/testing';
import * as prng from 'lib0/prng';
import { expect, vi } from 'vitest';
import { NotesWorkload } from './NotesWorkload.ts';

/** Virtual time starts here for every seed (any fixed instant works). */
const EPOCH = Date.UTC(2025, 0, 1);

export type SeedOptions = Omit<SimulationOptions, 'seed' | 'clock' | 'workload'>;

/**
 * Runs one seed of the notes simulation in virtual time (from `EPOCH`), with
 * note ids drawn from the seed too, so the same seed always gives the same run.
 */
export async function runSeed(seed: number, options: SeedOptions = {}): Promise<SimReport> {
  const time = new VirtualTime(EPOCH).install();
  // Note ids are 16 random bytes from crypto.getRandomValues; draw them from the seed.
  const ids = prng.create((seed ^ 0x5bd1e995) >>> 0 || 1);
  const spy = vi
    .spyOn(globalThis.crypto, 'getRandomValues')
    .mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      if (array instanceof Uint8Array) array.set(prng.uint8Array(ids, array.length));
      else throw new Error('the simulation only draws byte arrays from crypto');
      return array;
    });
  try {
    return await Simulation.run({
      ...options,
      seed,
      clock: time,
      workload: new NotesWorkload(),
    });
  } finally {
    spy.mockRestore();
    time.uninstall();
  }
}

/** What to print for a failed seed: `seed=<n>`, the schedule summary, the problems and the trace's tail. */
export function describeFailure(report: SimReport, traceLines = 40): string {
  const trace = report.trace.slice(-traceLines);
  return [
    report.summary,
    ...report.problems.map((p) => `  ✘ ${p}`),
    `  trace (last ${trace.length} of ${report.trace.length}):`,
    ...trace.map((line) => `    ${line}`),
  ].join('\n');
}

/**
 * Runs seeds `from` … `from + count - 1`, prints every failure as it happens
 * and a timing line, and fails (listing every failed seed) if any failed.
 * `options` may depend on the seed (e.g. 3–5 relays by seed).
 */
export async function runSeeds(
  from: number,
  count: number,
  options: SeedOptions | ((seed: number) => SeedOptions) = {},
): Promise<void> {
  const optionsFor = typeof options === 'function' ? options : () => options;
  const failures: string[] = [];
  const verbose = process.env.SIM_VERBOSE === '1';
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    const report = await runSeed(seed, optionsFor(seed));
    if (verbose) console.log(report.summary);
    if (!report.ok) {
      // Verbose runs print the whole schedule of a failure, others its tail.
      const description = describeFailure(report, verbose ? report.trace.length : 40);
      failures.push(description);
      console.error(`✘ ${description}`);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const first = optionsFor(from);
  const relays = typeof options === 'function' ? 'varying' : String(first.relays ?? 1);
  console.log(
    `simulation: ${count} seeds from ${from} (${first.replicas ?? 3} replicas, ` +
      `${relays} relay(s), topology ${first.topology ?? 'default'}) in ${seconds} s, ${failures.length} failed`,
  );
  expect(failures, `failing seeds:\n${failures.join('\n')}`).toEqual([]);
}
