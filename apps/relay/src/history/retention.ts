/**
 * Which versions of one doc to keep: everything while recent, then the
 * newest per hour, then the newest per day, then nothing — and never more
 * than a maximum count. The newest version of a doc is always kept: it is
 * what a purged note is restored from.
 */
export interface RetentionPolicy {
  /** Keep every version younger than this (ms). */
  keepAllMs: number;
  /** Then keep the newest version of each hour until this age (ms, ≥ keepAllMs). */
  hourlyMs: number;
  /** Then keep the newest version of each day (UTC) until this age (ms, ≥ hourlyMs). */
  dailyMs: number;
  /** At most this many versions per doc; the oldest go first. */
  maxVersions: number;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Defaults: everything for a day, hourly for a week, daily for 90 days, at most 1,000 per doc. */
export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({
  keepAllMs: DAY_MS,
  hourlyMs: 7 * DAY_MS,
  dailyMs: 90 * DAY_MS,
  maxVersions: 1000,
});

/** Throws a `RangeError` naming the problem unless `policy` is usable. */
export function checkRetention(policy: RetentionPolicy): void {
  for (const key of ['keepAllMs', 'hourlyMs', 'dailyMs'] as const) {
    const value = policy[key];
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`history retention: ${key} must be a non-negative number, got ${value}`);
    }
  }
  if (policy.hourlyMs < policy.keepAllMs || policy.dailyMs < policy.hourlyMs) {
    throw new RangeError('history retention: the windows must grow: keep-all ≤ hourly ≤ daily');
  }
  if (!(Number.isInteger(policy.maxVersions) && policy.maxVersions >= 1)) {
    throw new RangeError(
      `history retention: maxVersions must be a whole number ≥ 1, got ${policy.maxVersions}`,
    );
  }
}

/** A version as retention sees it. */
export interface DatedVersion {
  id: string;
  at: number;
}

/** Ids of the versions `policy` drops at time `now`. */
export function versionsToDrop(
  versions: readonly DatedVersion[],
  now: number,
  policy: RetentionPolicy,
): string[] {
  if (versions.length === 0) return [];
  // Newest first: the first version seen in a bucket is the one it keeps.
  const sorted = [...versions].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
  const newest = sorted[0] as DatedVersion;
  const kept: DatedVersion[] = [newest];
  const drop: string[] = [];
  const buckets = new Set<string>();
  for (const version of sorted.slice(1)) {
    const age = now - version.at;
    let keep: boolean;
    if (age <= policy.keepAllMs) keep = true;
    else if (age <= policy.hourlyMs) keep = claim(buckets, `h${Math.floor(version.at / HOUR_MS)}`);
    else if (age <= policy.dailyMs) keep = claim(buckets, `d${Math.floor(version.at / DAY_MS)}`);
    else keep = false;
    if (keep) kept.push(version);
    else drop.push(version.id);
  }
  // Over the cap: the oldest kept go (kept is newest first, so from its end).
  for (const version of kept.slice(policy.maxVersions)) drop.push(version.id);
  return drop;
}

/** True the first time `bucket` is claimed. */
function claim(buckets: Set<string>, bucket: string): boolean {
  if (buckets.has(bucket)) return false;
  buckets.add(bucket);
  return true;
}
