import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand, relayUrls } from './args.ts';
import { CliError } from './CliError.ts';

describe('parseCommand', () => {
  it('parses export and import, resolving paths against the directory it was typed in', () => {
    expect(
      parseCommand(
        ['export', '--relay', 'http://h:1', '--workspace', 'w', '--out', 'b.zip'],
        '/home/me',
      ),
    ).toEqual({
      command: 'export',
      relay: 'http://h:1',
      workspace: 'w',
      token: null,
      out: '/home/me/b.zip',
      inputs: [],
      timeoutMs: 60_000,
      quiet: false,
    });
    expect(
      parseCommand(
        [
          'import',
          '--relay',
          'ws://h:1',
          '--workspace',
          'w',
          '--token',
          't',
          '--timeout',
          '5',
          'a.md',
          '/abs/dir',
        ],
        '/home/me',
      ),
    ).toMatchObject({
      command: 'import',
      token: 't',
      inputs: ['/home/me/a.md', '/abs/dir'],
      timeoutMs: 5000,
    });
  });

  it('reads --token-file (trimmed) and fails clearly on a missing or empty one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lattice-args-'));
    try {
      await writeFile(join(dir, 'token'), ' secret\n');
      await writeFile(join(dir, 'empty'), '\n');
      const base = ['export', '--relay', 'http://h', '--workspace', 'w', '--out', 'x.zip'];
      expect(parseCommand([...base, '--token-file', 'token'], dir)).toMatchObject({
        token: 'secret',
      });
      expect(() => parseCommand([...base, '--token-file', 'missing'], dir)).toThrow(
        /cannot read --token-file missing: ENOENT/,
      );
      expect(() => parseCommand([...base, '--token-file', 'empty'], dir)).toThrow(/is empty/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad flags with exit code 2 and the usage', () => {
    const bad = [
      ['export', '--relay', 'http://h', '--workspace', 'w', '--out', 'x.zip', '--timeout', '0'],
      ['export', '--relay', 'http://h', '--workspace', 'w', '--out', 'x.zip', 'extra.md'],
      ['import', '--relay', 'http://h', '--workspace', 'w', '--out', 'x.zip', 'a.md'],
      ['import', '--relay', 'not a url', '--workspace', 'w', 'a.md'],
    ];
    for (const args of bad) {
      let error: unknown;
      try {
        parseCommand(args, '/');
      } catch (e) {
        error = e;
      }
      expect(error, args.join(' ')).toBeInstanceOf(CliError);
      expect((error as CliError).code).toBe(2);
      expect((error as CliError).message).toContain('usage:');
    }
    expect(parseCommand(['--help'], '/')).toBe('help');
  });
});

describe('relayUrls', () => {
  it('derives the HTTP origin and the sync endpoint with the token', () => {
    expect(relayUrls('http://h:8080', null)).toEqual({
      http: 'http://h:8080',
      sync: 'ws://h:8080/sync',
    });
    expect(relayUrls('wss://h/base/sync/', 'a b')).toEqual({
      http: 'https://h/base',
      sync: 'wss://h/base/sync?token=a+b',
    });
  });
});
