/**
 * Vitest fixture for relay test files: temp data dirs and in-process relays,
 * torn down after each test (relays, sockets) and after the file (dirs).
 * Imported by path, not from `testing/index.ts`: it registers vitest hooks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { type RelayOptions, type RunningRelay, startRelay } from '../index.ts';

export interface TestRelays {
  /** A fresh directory, removed after the file. */
  tempDir(): Promise<string>;
  /** Starts a relay on 127.0.0.1, port 0, a fresh data dir and no web app, over `defaults`; closed after the test. */
  start(options?: Partial<RelayOptions>): Promise<RunningRelay>;
  /** Runs `cleanup` after the current test (last registered first). */
  defer(cleanup: () => Promise<void> | void): void;
}

/** Call once at the top of a test file. `defaults` apply to every `start` (e.g. `{ auth: 'off' }`). */
export function useTestRelays(prefix: string, defaults: Partial<RelayOptions> = {}): TestRelays {
  const dirs: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  return {
    tempDir,
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    start: async (options = {}) => {
      const relay = await startRelay({
        host: '127.0.0.1',
        port: 0,
        dataDir: options.dataDir ?? (await tempDir()),
        webDir: options.webDir ?? join(await tempDir(), 'missing'),
        commitWindowMs: 2,
        ...defaults,
        ...options,
      });
      cleanups.push(() => relay.close());
      return relay;
    },
  };
}

/** A plain HTTP response, body as text. */
export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET `url` with `headers`; resolves with whatever status comes back. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
