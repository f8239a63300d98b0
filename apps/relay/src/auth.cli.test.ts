import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode } from '@lattice/replication';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliError, parseCli } from './cli.ts';
import { MuxWsClient } from './testing/index.ts';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const children = new Set<ChildProcess>();
const SECRET = 'a-cluster-secret-of-at-least-32-bytes!!';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-auth-cli-'));
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

function run(args: string[], env: Record<string, string> = {}) {
  // One process (node with tsx's loader), not tsx's CLI, which runs the relay in a
  // child of its own that a kill of the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: appDir,
    env: { ...process.env, LATTICE_CLUSTER_SECRET: '', ...env },
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

async function listening(r: ReturnType<typeof run>): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(r.stdout());
    if (match) return match[1]!;
    if (r.child.exitCode !== null) throw new Error(`relay exited: ${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`relay did not start: ${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('auth flags', () => {
  it('parses --auth, --cluster-secret-file, LATTICE_CLUSTER_SECRET, --rotate-key and --retire-key', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'secret'), `${SECRET}\n`);
    const run = parseCli(
      [
        '--cluster-secret-file',
        'secret',
        '--peer',
        'ws://h:1',
        '--rotate-key',
        '--retire-key',
        'k1',
        '--retire-key',
        'k2',
      ],
      dir,
    );
    expect(run).toMatchObject({
      kind: 'run',
      auth: 'on',
      rotateKey: true,
      retireKeys: ['k1', 'k2'],
    });
    if (run.kind !== 'run') throw new Error('unreachable');
    expect(new TextDecoder().decode(run.clusterSecret)).toBe(SECRET);
    const fromEnv = parseCli(['--peer', 'ws://h:1'], dir, { LATTICE_CLUSTER_SECRET: SECRET });
    expect(fromEnv).toMatchObject({ clusterSecret: new TextEncoder().encode(SECRET) });
    expect(parseCli(['--auth', 'off'], dir)).toMatchObject({ auth: 'off', retireKeys: [] });
  });

  it.each([
    [['--auth', 'maybe'], /--auth must be "on" or "off"/],
    [['--peer', 'ws://h:1'], /--peer needs a cluster secret/],
    [['--cluster-secret-file', 'missing'], /cannot read it \(ENOENT\)/],
    [['--cluster-secret-file', 'short'], /at least 32 bytes, got 5/],
    [['--retire-key', 'a b'], /--retire-key must be a key id/],
    [['--auth', 'off', '--rotate-key'], /need --auth on/],
  ])('refuses %j with a clear message', async (args, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'short'), 'short');
    expect(() => parseCli(args, dir)).toThrow(CliError);
    expect(() => parseCli(args, dir)).toThrow(message);
  });

  it('exits 2 on a flag error', async () => {
    const r = run(['--port', '0', '--peer', 'ws://127.0.0.1:1']);
    expect(await r.exit).toBe(2);
    expect(r.stderr()).toMatch(/lattice-relay: --peer needs a cluster secret/);
  });

  it('prints the warning with --auth off, not without', async () => {
    const dir = await tempDir();
    const off = run(['--port', '0', '--auth', 'off', '--data-dir', join(dir, 'off')]);
    await listening(off);
    expect(off.stderr()).toContain(
      'WARNING: --auth off: anyone who can reach this relay can read and write every workspace\n',
    );
    const on = run(['--port', '0', '--data-dir', join(dir, 'on')]);
    await listening(on);
    expect(on.stderr()).not.toContain('WARNING');
  });

  it('never logs a token, even with --verbose', async () => {
    const dir = await tempDir();
    const r = run(['--port', '0', '--verbose', '--data-dir', dir]);
    const url = await listening(r);
    const claimed = await fetch(`${url}/api/workspaces`, { method: 'POST', body: '{"id":"w1"}' });
    const { token } = (await claimed.json()) as { token: string };
    const shared = await fetch(`${url}/api/workspaces/w1/shares?token=${token}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: '{"role":"read"}',
    });
    const share = (await shared.json()) as { token: string };
    const c = new MuxWsClient(url, { token: share.token });
    await c.hello();
    c.sync('w1/n1');
    await c.waitFor(() => (c.acked('w1/n1') >= 1 ? true : undefined));
    await c.close();
    const refused = new MuxWsClient(url, { token: `${share.token}x` });
    expect((await refused.closed).code).toBe(CloseCode.Unauthorized);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    const stderr = r.stderr();
    expect(stderr).toMatch(/"reqId"/);
    for (const secret of [token, share.token, token.split('.')[2]!, share.token.split('.')[2]!]) {
      expect(stderr).not.toContain(secret);
    }
  });
});
