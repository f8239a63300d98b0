/** Order statistics of a sample (milliseconds or any unit). */
export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p99: number;
  p999: number;
}

/** Nearest-rank percentile of sorted `values` (`q` in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
  };
}

/** A figure over several runs: the median, with the spread. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number;
  unit: string;
}

export function figure(values: readonly number[], unit: string): Figure {
  const s = summarize(values);
  return { median: median(values), min: s.min, max: s.max, runs: s.n, unit };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** "12.3 (11.9–13.0)" */
export function formatFigure(f: Figure, digits = 1): string {
  const n = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
  return f.runs > 1
    ? `${n(f.median)} (${n(f.min)}–${n(f.max)}) ${f.unit}`
    : `${n(f.median)} ${f.unit}`;
}
