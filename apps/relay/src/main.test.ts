import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@lattice/replication';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRelay } from './index.ts';
import { MuxWsClient } from './testing/index.ts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const children = new Set<ChildProcess>();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cli-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], cwd = appDir): Run {
  // One process (node with tsx's loader), not tsx's CLI, which runs the relay in a
  // child of its own that a kill of the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: appDir,
    env: { ...process.env, INIT_CWD: cwd },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function listening(r: Run): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\n/.exec(r.stdout());
    if (match?.[2] !== undefined && match[2] !== '0') return match[1]!;
    if (r.child.exitCode !== null) throw new Error(`relay exited: ${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`relay did not start: ${r.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('lattice-relay CLI', { timeout: 30_000 }, () => {
  it('rejects unknown flags with exit code 2 and a usage hint', async () => {
    const r = run(['--bogus']);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(/lattice-relay: .*--bogus/);
    expect(r.stderr()).toMatch(/--help/);
    expect(r.stdout()).toBe('');
  });

  it('rejects bad values with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'http'], /--port must be an integer/],
      [['--port', '70000'], /--port must be an integer/],
      [['--peer', 'http://example.com'], /--peer must be a ws:\/\/ or wss:\/\/ URL/],
      [['--auth', 'token'], /--auth must be "on" or "off"/],
      [['--port'], /--port/],
      [['--ping-interval', '0'], /--ping-interval must be a positive whole number/],
      [['--heartbeat-interval', '20000'], /--heartbeat-timeout must be longer/],
    ];
    const runs = cases.map(([args, message]) => ({ r: run(args), message }));
    for (const { r, message } of runs) {
      expect(await r.exit).toBe(2);
      expect(r.stderr()).toMatch(message);
    }
  });

  it('prints usage for --help', async () => {
    const r = run(['--help']);
    expect(await r.exit).toBe(0);
    expect(r.stdout()).toMatch(/^Usage: pnpm relay/);
    expect(r.stdout()).toMatch(/--data-dir/);
  });

  it('starts on a free port, serves, and shuts down gracefully on SIGTERM', async () => {
    const cwd = await tempDir();
    const r = run(['--', '--port', '0', '--data-dir', 'relay-data', '--auth', 'off'], cwd);
    const url = await listening(r);
    expect(r.stdout()).toBe(`listening on ${url}\n`);

    const client = new MuxWsClient(url);
    await client.hello();
    const doc = client.sync('w1/n1');
    doc.getText('body').insert(0, 'flushed on exit');
    // Acked up to the update: it is durable before the relay is told to stop.
    await client.waitFor(() =>
      client.acked('w1/n1') >= 2 && client.acked('w1/n1') >= client.sent('w1/n1')
        ? true
        : undefined,
    );

    r.child.kill('SIGTERM');
    expect((await client.closed).code).toBe(CloseCode.GoingAway);
    expect(await r.exit).toBe(0);

    // The data dir was resolved against INIT_CWD (where the user ran pnpm).
    const relay = await startRelay({
      auth: 'off',
      port: 0,
      dataDir: join(cwd, 'relay-data'),
      webDir: join(cwd, 'no-web'),
    });
    try {
      const again = new MuxWsClient(relay.url);
      await again.hello();
      const copy = again.sync('w1/n1');
      await again.waitFor(() =>
        copy.getText('body').toString() === 'flushed on exit' ? true : undefined,
      );
      await again.close();
    } finally {
      await relay.close();
    }
  });

  it('exits non-zero with a clear message when the data dir is unreadable', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'not-a-dir'), 'x');
    const r = run(['--port', '0', '--data-dir', 'not-a-dir'], cwd);
    expect(await r.exit).toBe(1);
    expect(r.stderr()).toMatch(/lattice-relay: .*not-a-dir/);
    expect(r.stdout()).toBe('');
  });
});
