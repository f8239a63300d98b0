import { describe, expect, it } from 'vitest';
import { CliError, parseCli } from '../cli.ts';
import { parseDuration } from './historyFlags.ts';
import { DAY_MS, DEFAULT_RETENTION, HOUR_MS } from './retention.ts';

function run(args: string[]) {
  const command = parseCli(args, '/tmp');
  if (command.kind !== 'run') throw new Error('expected a run command');
  return command;
}

describe('history flags', () => {
  it('parses durations with units; a bare number is milliseconds', () => {
    expect(parseDuration('--x', '250')).toBe(250);
    expect(parseDuration('--x', '90s')).toBe(90_000);
    expect(parseDuration('--x', '10m')).toBe(600_000);
    expect(parseDuration('--x', '12h')).toBe(12 * HOUR_MS);
    expect(parseDuration('--x', '7d')).toBe(7 * DAY_MS);
    expect(() => parseDuration('--x', '1w')).toThrow(/--x must be a duration/);
  });

  it('leaves history to the relay defaults when no flag is given', () => {
    expect(run([]).history).toBeUndefined();
  });

  it('passes the interval and retention through', () => {
    const command = run([
      '--history-interval',
      '200ms',
      '--history-keep-all',
      '2h',
      '--history-hourly',
      '3d',
      '--history-daily',
      '30d',
      '--history-max',
      '50',
    ]);
    expect(command.history).toEqual({
      intervalMs: 200,
      retention: {
        keepAllMs: 2 * HOUR_MS,
        hourlyMs: 3 * DAY_MS,
        dailyMs: 30 * DAY_MS,
        maxVersions: 50,
      },
    });
    expect(run(['--history-max', '5']).history).toEqual({
      retention: { ...DEFAULT_RETENTION, maxVersions: 5 },
    });
  });

  it.each([
    [['--history-interval', 'soon'], /--history-interval must be a duration/],
    [['--history-interval', '0'], /--history-interval must be longer than 0/],
    [['--history-max', '0'], /--history-max must be a whole number/],
    [['--history-max=-3'], /--history-max must be a whole number/],
    [['--history-keep-all', '10d'], /must not shrink/],
    [['--history-hourly', '2d', '--history-daily', '1d'], /must not shrink/],
  ])('refuses %j with a clear CliError', (args, message) => {
    expect(() => parseCli(args, '/tmp')).toThrow(CliError);
    expect(() => parseCli(args, '/tmp')).toThrow(message);
  });
});
