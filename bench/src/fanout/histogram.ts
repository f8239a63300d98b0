/**
 * A log-bucketed latency histogram (1 % relative bucket width), so load
 * generators in several processes can merge hundreds of thousands of samples
 * exactly enough for p999 without shipping every sample over IPC.
 */

/** Smallest resolvable latency (ms); anything below lands in bucket 0. */
const FLOOR_MS = 0.001;
/** Bucket width: each bucket spans a factor of 1.01 (percentiles within 1 %). */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);

/** Sparse bucket counts, serialisable as JSON (`[bucket, count]` pairs). */
export type HistogramData = Array<[number, number]>;

export class Histogram {
  readonly #counts = new Map<number, number>();
  #n = 0;
  #max = 0;

  get count(): number {
    return this.#n;
  }

  record(ms: number): void {
    const v = Math.max(ms, FLOOR_MS);
    const bucket = Math.floor(Math.log(v / FLOOR_MS) / LOG_GROWTH);
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#n++;
    if (ms > this.#max) this.#max = ms;
  }

  toJSON(): { buckets: HistogramData; max: number } {
    return { buckets: [...this.#counts], max: this.#max };
  }

  merge(data: { buckets: HistogramData; max: number }): void {
    for (const [bucket, count] of data.buckets) {
      this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + count);
      this.#n += count;
    }
    if (data.max > this.#max) this.#max = data.max;
  }

  /**
   * Nearest-rank percentile (`q` in 0..1), reported as the bucket's geometric
   * middle; NaN when empty. `expected` (≥ count): samples that should exist;
   * the missing ones (never delivered, never acked) rank above everything,
   * so a percentile that falls among them is `Infinity`, not a flattering number.
   */
  percentile(q: number, expected = this.#n): number {
    const total = Math.max(expected, this.#n);
    if (total === 0) return Number.NaN;
    const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
    if (rank > this.#n) return Number.POSITIVE_INFINITY;
    const sorted = [...this.#counts].sort((a, b) => a[0] - b[0]);
    let seen = 0;
    for (const [bucket, count] of sorted) {
      seen += count;
      if (seen >= rank) return Math.min(this.#max, FLOOR_MS * GROWTH ** (bucket + 0.5));
    }
    return this.#max;
  }
}
