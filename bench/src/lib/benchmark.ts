import type { BenchResult } from './results.ts';

/** Options every benchmark gets from the CLI. */
export interface BenchOptions {
  /** Runs per figure (median of them); `--runs N`, default per benchmark. */
  runs?: number;
  /** `--quick`: smaller sizes for a smoke run (still real, just fewer). */
  quick: boolean;
}

/** A benchmark `pnpm bench <name>` can run. */
export interface Benchmark {
  name: string;
  title: string;
  run(options: BenchOptions): Promise<BenchResult>;
}
