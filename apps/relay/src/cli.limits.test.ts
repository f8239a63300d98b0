import { describe, expect, it } from 'vitest';
import { CliError, parseCli } from './cli.ts';

function run(args: string[]) {
  const command = parseCli(['--auth', 'off', ...args], '/tmp');
  if (command.kind !== 'run') throw new Error('expected a run command');
  return command;
}

describe('limit flags', () => {
  it('passes limits through only when given', () => {
    const none = run([]);
    expect(none.maxFrameBytes).toBeUndefined();
    expect(none.rateLimit).toBeUndefined();
    const all = run([
      '--max-frame-bytes',
      '1048576',
      '--max-connections',
      '50',
      '--max-connections-per-ip',
      '5',
      '--max-docs-per-connection',
      '100',
      '--rate-limit',
      '20',
    ]);
    expect(all).toMatchObject({
      maxFrameBytes: 1_048_576,
      maxConnections: 50,
      maxConnectionsPerIp: 5,
      maxDocsPerConnection: 100,
      // Bytes derived from frames when not given: 16 KiB per frame.
      rateLimit: { framesPerSecond: 20, bytesPerSecond: 20 * 16 * 1024 },
    });
    expect(run(['--rate-limit-bytes', '4096']).rateLimit).toEqual({
      framesPerSecond: 500,
      bytesPerSecond: 4096,
    });
  });

  it('refuses bad values (exit 2)', () => {
    for (const [flag, value] of [
      ['--max-frame-bytes', '0'],
      ['--max-frame-bytes', '16MiB'],
      ['--max-connections', '-1'],
      ['--max-connections-per-ip', '1.5'],
      ['--max-docs-per-connection', ''],
      ['--rate-limit', 'fast'],
      ['--rate-limit-bytes', '99999999999999'],
    ] as const) {
      expect(() => run([flag, value]), `${flag} ${value}`).toThrow(CliError);
    }
  });
});

describe('--sync-window', () => {
  it('passes the window through only when given, 0 included', () => {
    expect(run([]).syncWindowMs).toBeUndefined();
    expect(run(['--sync-window', '5']).syncWindowMs).toBe(5);
    expect(run(['--sync-window', '0']).syncWindowMs).toBe(0);
  });

  it('refuses what is not a whole number of milliseconds', () => {
    for (const bad of ['-1', '1.5', 'soon', '', '10000']) {
      expect(() => run([`--sync-window=${bad}`])).toThrow(CliError);
      expect(() => run([`--sync-window=${bad}`])).toThrow(/--sync-window must be a whole number/);
    }
  });
});
