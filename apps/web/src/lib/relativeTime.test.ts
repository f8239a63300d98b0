import { describe, expect, it } from 'vitest';
import { relativeTime } from './relativeTime.ts';

const at = (y: number, mo: number, d: number, h = 12, mi = 0) =>
  new Date(y, mo - 1, d, h, mi).getTime();

describe('relativeTime', () => {
  const now = at(2025, 6, 15, 12, 0);

  it('says "just now" under a minute and for clocks slightly ahead', () => {
    expect(relativeTime(now, now)).toBe('just now');
    expect(relativeTime(now - 59_000, now)).toBe('just now');
    expect(relativeTime(now + 30_000, now)).toBe('just now');
  });

  it('counts minutes within the hour', () => {
    expect(relativeTime(now - 60_000, now)).toBe('1 min ago');
    expect(relativeTime(now - 5 * 60_000 - 10_000, now)).toBe('5 min ago');
    expect(relativeTime(now - 59 * 60_000, now)).toBe('59 min ago');
  });

  it('counts hours on the same calendar day', () => {
    expect(relativeTime(at(2025, 6, 15, 9, 0), now)).toBe('3 h ago');
  });

  it('uses calendar days, not 24 h periods', () => {
    const justAfterMidnight = at(2025, 6, 15, 0, 10);
    expect(relativeTime(at(2025, 6, 14, 22, 0), justAfterMidnight)).toBe('yesterday');
    expect(relativeTime(at(2025, 6, 12, 18, 0), now)).toBe('3 days ago');
  });

  it('falls back to a date after a week, with the year only when it differs', () => {
    expect(relativeTime(at(2025, 3, 5), now)).toBe('Mar 5');
    expect(relativeTime(at(2023, 12, 24), now)).toBe('Dec 24, 2023');
  });

  it('returns an empty string for a missing timestamp', () => {
    expect(relativeTime(Number.NaN, now)).toBe('');
  });
});
