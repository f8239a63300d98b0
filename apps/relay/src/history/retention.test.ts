import { describe, expect, it } from 'vitest';
import {
  checkRetention,
  DAY_MS,
  DEFAULT_RETENTION,
  HOUR_MS,
  type RetentionPolicy,
  versionsToDrop,
} from './retention.ts';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const policy: RetentionPolicy = {
  keepAllMs: DAY_MS,
  hourlyMs: 7 * DAY_MS,
  dailyMs: 30 * DAY_MS,
  maxVersions: 1000,
};
const v = (id: string, ageMs: number) => ({ id, at: NOW - ageMs });

describe('versionsToDrop', () => {
  it('keeps everything younger than the keep-all window', () => {
    const versions = [v('a', 1000), v('b', 2 * HOUR_MS), v('c', 23 * HOUR_MS)];
    expect(versionsToDrop(versions, NOW, policy)).toEqual([]);
  });

  it('keeps the newest per hour in the hourly window, per day in the daily window', () => {
    // Two days old: three versions within one clock hour (14:00–15:00 UTC), one the hour after.
    const hourStart = Math.floor((NOW - 2 * DAY_MS) / HOUR_MS) * HOUR_MS;
    const h1 = { id: 'h1', at: hourStart + 60_000 };
    const h2 = { id: 'h2', at: hourStart + 120_000 };
    const h3 = { id: 'h3', at: hourStart + 180_000 };
    const h4 = { id: 'h4', at: hourStart + HOUR_MS + 60_000 };
    // Ten days old: two versions in one UTC day.
    const dayStart = Math.floor((NOW - 10 * DAY_MS) / DAY_MS) * DAY_MS;
    const d1 = { id: 'd1', at: dayStart + HOUR_MS };
    const d2 = { id: 'd2', at: dayStart + 5 * HOUR_MS };
    const newest = v('now', 0);
    const drop = versionsToDrop([h1, h2, h3, h4, d1, d2, newest], NOW, policy);
    expect(drop.sort()).toEqual(['d1', 'h1', 'h2']);
  });

  it('drops what is older than the daily window, but never the newest version', () => {
    expect(versionsToDrop([v('old', 40 * DAY_MS), v('new', 0)], NOW, policy)).toEqual(['old']);
    expect(versionsToDrop([v('only', 400 * DAY_MS)], NOW, policy)).toEqual([]);
  });

  it('caps the count, dropping the oldest first', () => {
    const versions = Array.from({ length: 10 }, (_, i) => v(`v${i}`, i * 1000));
    const drop = versionsToDrop(versions, NOW, { ...policy, maxVersions: 3 });
    expect(drop.sort()).toEqual(['v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
  });

  it('is empty for no versions', () => {
    expect(versionsToDrop([], NOW, policy)).toEqual([]);
  });
});

describe('checkRetention', () => {
  it('accepts the defaults and refuses shrinking windows or a zero cap', () => {
    expect(() => checkRetention(DEFAULT_RETENTION)).not.toThrow();
    expect(() => checkRetention({ ...policy, hourlyMs: HOUR_MS })).toThrow(/must grow/);
    expect(() => checkRetention({ ...policy, maxVersions: 0 })).toThrow(/maxVersions/);
    expect(() => checkRetention({ ...policy, keepAllMs: -1 })).toThrow(/keepAllMs/);
  });
});
