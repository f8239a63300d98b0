import { coldLoad } from './coldLoad/index.ts';
import { fanout } from './fanout/index.ts';
import { ingest } from './ingest.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { memory } from './memory.ts';
import { partitionHeal } from './partitionHeal.ts';
import { traceReplay } from './traceReplay.ts';

/** Every benchmark, in the order `pnpm bench` runs them (one line each). */
export const BENCHMARKS: Benchmark[] = [
  traceReplay,
  ingest,
  fanout,
  coldLoad,
  partitionHeal,
  memory,
];
