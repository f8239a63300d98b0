/**
 * `pnpm bench [name ...] [--runs N] [--quick]`: runs the named benchmarks (all
 * by default) with progress on stderr, prints each table, and writes
 * `bench/results/latest.json`, `latest.md` and the plots.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS } from './benchmarks.ts';
import type { BenchOptions } from './lib/benchmark.ts';
import {
  type BenchResult,
  machineInfo,
  RESULTS_DIR,
  renderMarkdown,
  writeResults,
} from './lib/results.ts';

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const names = positionals.filter((p) => p !== '--');
  const known = new Map(BENCHMARKS.map((b) => [b.name, b]));
  if (values.help) {
    process.stdout.write(
      `Usage: pnpm bench [name ...] [--runs N] [--quick]\nBenchmarks: ${[...known.keys()].join(', ')}\n`,
    );
    return 0;
  }
  for (const name of names) {
    if (!known.has(name)) {
      process.stderr.write(
        `bench: unknown benchmark "${name}"; known: ${[...known.keys()].join(', ')}\n`,
      );
      return 2;
    }
  }
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      process.stderr.write(`bench: --runs must be a positive integer, got "${values.runs}"\n`);
      return 2;
    }
  }
  const options: BenchOptions = {
    quick: values.quick ?? false,
    ...(runs === undefined ? {} : { runs }),
  };
  const selected = names.length === 0 ? BENCHMARKS : names.map((n) => known.get(n)!);
  const results: BenchResult[] = [];
  for (const [i, bench] of selected.entries()) {
    process.stderr.write(`\n[${i + 1}/${selected.length}] ${bench.title} (${bench.name})\n`);
    const started = performance.now();
    const result = await bench.run(options);
    results.push(result);
    await writeResults([result]);
    process.stdout.write(renderMarkdown(machineInfo(), [result]));
    process.stderr.write(
      `${bench.name} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  process.stderr.write(`\nresults: ${RESULTS_DIR}/latest.json, latest.md\n`);
  return 0;
}

function parse() {
  return parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    strict: true,
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
