import type { HistoryOptions } from './HistoryRecorder.ts';
import {
  checkRetention,
  DAY_MS,
  DEFAULT_RETENTION,
  HOUR_MS,
  type RetentionPolicy,
} from './retention.ts';

/** The version history's command-line flags (`parseArgs` option specs). */
export const HISTORY_FLAG_OPTIONS = {
  'history-interval': { type: 'string' },
  'history-keep-all': { type: 'string' },
  'history-hourly': { type: 'string' },
  'history-daily': { type: 'string' },
  'history-max': { type: 'string' },
} as const;

export const HISTORY_USAGE = `  --history-interval <duration>  a changed doc gets a new version this long after
                      its first change since the last one (default 5m); versions are
                      also taken before a purge and at shutdown
  --history-keep-all <duration>  keep every version this long (default 1d)
  --history-hourly <duration>    then the newest of each hour until this age (default 7d)
  --history-daily <duration>     then the newest of each day until this age (default 90d)
  --history-max <n>   at most this many versions per doc (default 1000); a doc's
                      newest version is always kept
                      (durations: a number with ms, s, m, h or d, e.g. 90s, 12h)
`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };

/** `90s` → 90000; a bare number is milliseconds. Throws a message naming `flag`. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text);
  if (match === null) {
    throw new RangeError(
      `${flag} must be a duration like 500ms, 90s, 10m, 12h or 7d, got "${text}"`,
    );
  }
  return Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number);
}

/**
 * History options from parsed flags (`undefined` when none was given: the
 * relay's defaults apply). Throws a `RangeError` with a message for the user.
 */
export function parseHistoryFlags(
  values: Readonly<Record<string, unknown>>,
): HistoryOptions | undefined {
  const text = (flag: keyof typeof HISTORY_FLAG_OPTIONS): string | undefined => {
    const value = values[flag];
    return typeof value === 'string' ? value : undefined;
  };
  const given = Object.keys(HISTORY_FLAG_OPTIONS).some((flag) => values[flag] !== undefined);
  if (!given) return undefined;
  const duration = (flag: keyof typeof HISTORY_FLAG_OPTIONS, fallback: number) => {
    const value = text(flag);
    return value === undefined ? fallback : parseDuration(`--${flag}`, value);
  };
  const intervalText = text('history-interval');
  const intervalMs =
    intervalText === undefined ? undefined : parseDuration('--history-interval', intervalText);
  if (intervalMs === 0) throw new RangeError('--history-interval must be longer than 0');
  const maxText = text('history-max');
  if (maxText !== undefined && !/^[1-9]\d{0,8}$/.test(maxText)) {
    throw new RangeError(`--history-max must be a whole number ≥ 1, got "${maxText}"`);
  }
  const retention: RetentionPolicy = {
    keepAllMs: duration('history-keep-all', DEFAULT_RETENTION.keepAllMs),
    hourlyMs: duration('history-hourly', DEFAULT_RETENTION.hourlyMs),
    dailyMs: duration('history-daily', DEFAULT_RETENTION.dailyMs),
    maxVersions: maxText === undefined ? DEFAULT_RETENTION.maxVersions : Number(maxText),
  };
  if (retention.hourlyMs < retention.keepAllMs || retention.dailyMs < retention.hourlyMs) {
    throw new RangeError(
      '--history-keep-all, --history-hourly and --history-daily must not shrink (keep-all ≤ hourly ≤ daily)',
    );
  }
  checkRetention(retention);
  return { ...(intervalMs === undefined ? {} : { intervalMs }), retention };
}
