import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './stats.ts';

/** `bench/results/` */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'results');

/** One target line of the table, checked against a measured figure. */
export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  pass: boolean;
}

/** What one benchmark reports. */
export interface BenchResult {
  /** CLI name (`pnpm bench <name>`). */
  name: string;
  title: string;
  /** Named figures (median/min/max over runs), e.g. `lattice.e2eSeconds`. */
  figures: Record<string, Figure>;
  /** The side-by-side table: one row per system/configuration, same columns in each row. */
  table: { columns: string[]; rows: Array<Array<string | number>> };
  targets: TargetCheck[];
  /** Plot files written (relative to `bench/results/`). */
  plots: string[];
  /** Free-form notes: what was measured, caveats, profiles taken. */
  notes: string[];
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Merges `results` into `bench/results/latest.json` (by name) and rewrites `latest.md`. */
export async function writeResults(results: readonly BenchResult[]): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const jsonPath = join(RESULTS_DIR, 'latest.json');
  let previous: { benchmarks?: Record<string, BenchResult> } = {};
  try {
    previous = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch {
    previous = {};
  }
  const benchmarks = { ...(previous.benchmarks ?? {}) };
  for (const r of results)
    benchmarks[r.name] = { ...r, ranAt: new Date().toISOString() } as BenchResult;
  const doc = { machine: machineInfo(), benchmarks };
  await writeFile(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
  await writeFile(
    join(RESULTS_DIR, 'latest.md'),
    renderMarkdown(doc.machine, Object.values(benchmarks)),
  );
}

export function renderMarkdown(machine: MachineInfo, results: readonly BenchResult[]): string {
  const lines = [
    '# Benchmark results',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}.`,
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.title} (\`pnpm bench ${r.name}\`)`, '');
    lines.push(
      `| ${r.table.columns.join(' | ')} |`,
      `| ${r.table.columns.map(() => '---').join(' | ')} |`,
    );
    for (const row of r.table.rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
    if (r.targets.length > 0) {
      lines.push('| target | wanted | measured | met |', '| --- | --- | --- | --- |');
      for (const t of r.targets)
        lines.push(`| ${t.what} | ${t.target} | ${t.measured} | ${t.pass ? 'yes' : '**no**'} |`);
      lines.push('');
    }
    for (const plot of r.plots) lines.push(`![${r.title}](${plot})`, '');
    for (const note of r.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
