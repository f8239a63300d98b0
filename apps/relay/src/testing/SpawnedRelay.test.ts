import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SPAWNED_RELAY = fileURLToPath(new URL('./SpawnedRelay.ts', import.meta.url));
/** The relay package: `--import tsx` resolves from here, whatever directory the tests run in. */
const RELAY_APP = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SpawnedRelay', () => {
  it('does not outlive a process that dies without its teardown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spawned-relay-'));
    dirs.push(dir);
    const script = join(dir, 'dies.mts');
    await writeFile(
      script,
      [
        `import { SpawnedRelay } from ${JSON.stringify(SPAWNED_RELAY)};`,
        `const relay = await SpawnedRelay.start({ dataDir: ${JSON.stringify(join(dir, 'data'))} });`,
        "console.log('relay pid', relay.pid);",
        "throw new Error('dies before its teardown');",
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: RELAY_APP,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    const pid = Number(/relay pid (\d+)/.exec(out)?.[1]);
    expect(pid, `the child printed no relay pid; its stderr:\n${err}`).toBeGreaterThan(0);
    expect(err).toContain('dies before its teardown');
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const outlived = alive(pid);
    // Not left behind when this fails.
    if (outlived) process.kill(pid, 'SIGKILL');
    expect(outlived).toBe(false);
  }, 40_000);
});
