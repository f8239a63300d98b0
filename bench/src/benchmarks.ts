import type { Benchmark } from './lib/benchmark.ts';

/** Every benchmark, in the order `pnpm bench` runs them (one line each). */
export const BENCHMARKS: Benchmark[] = [];
