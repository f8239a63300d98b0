import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoteStore } from '@lattice/notes';
import { SpawnedRelay, wsTransportFactory } from '@lattice/relay/testing';
import { MemoryStorage, Replica } from '@lattice/replication';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/lattice.mjs', import.meta.url));
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cli-'));
  dirs.push(dir);
  return dir;
}

/** Runs `lattice <args>` as users do (a real process); resolves with its exit code and output. */
function lattice(args: string[], cwd?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, INIT_CWD: cwd ?? process.cwd() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Writes notes into `workspace` through a real replica and waits until the relay acked them. */
async function seed(relayUrl: string, workspace: string, token?: string) {
  const sync = `${relayUrl.replace(/^http/, 'ws')}/sync${token ? `?token=${token}` : ''}`;
  const replica = new Replica({
    storage: new MemoryStorage(),
    relays: [sync],
    transportFactory: wsTransportFactory,
    onError: () => {},
  });
  // A clock that ticks on every read: the export names notes in creation order, and
  // two notes created in the same millisecond fell back to their random ids' order.
  let clock = Date.now();
  const store = await NoteStore.open({
    workspaceId: workspace,
    source: replica,
    now: () => ++clock,
  });
  await store.create({ title: 'Plan', body: '# Plan\n\n- [ ] ship it' });
  await store.create({ title: 'Plan', body: 'a second plan' });
  await store.create({ title: 'Q: "why"? 🤔 a/b', body: '---\nlooks like front matter\n---\n' });
  await store.create({ title: '' });
  const old = await store.create({ title: 'Old', body: 'in the trash' });
  store.trash(old);
  store.flush();
  await replica.whenAcked();
  store.close();
  await replica.destroy();
}

let relay: SpawnedRelay;

beforeAll(async () => {
  relay = await SpawnedRelay.start({ dataDir: await tempDir() });
  await seed(relay.url, 'source');
}, 60_000);

afterAll(async () => {
  await SpawnedRelay.killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('lattice export / import against a real relay', () => {
  it('export → import into a fresh workspace → export gives a byte-identical zip', async () => {
    const dir = await tempDir();
    const first = join(dir, 'first.zip');
    const exported = await lattice([
      'export',
      '--relay',
      relay.url,
      '--workspace',
      'source',
      '--out',
      first,
    ]);
    expect(exported.stderr).toContain('reading notes: 5/5');
    expect(exported).toMatchObject({ code: 0 });
    expect(exported.stdout).toMatch(/exported 5 notes \(1 in the trash\)/);
    const files = unzipSync(await readFile(first));
    expect(Object.keys(files)).toEqual([
      'Plan.md',
      'Plan (2).md',
      'Q- -why-- 🤔 a-b.md',
      'Untitled.md',
      'Trash/Old.md',
    ]);
    expect(new TextDecoder().decode(files['Q- -why-- 🤔 a-b.md'])).toMatch(
      /^---\ntitle: 'Q: "why"\? 🤔 a\/b'\nid: \S+\ncreated: \S+Z\nupdated: \S+Z\n---\n---\nlooks like front matter\n---\n$/,
    );

    const imported = await lattice([
      'import',
      '--relay',
      `${relay.url.replace('http', 'ws')}/sync`,
      '--workspace',
      'copy',
      first,
    ]);
    expect(imported.stdout).toMatch(
      /imported 5 notes into workspace copy \(0 already there, 0 skipped, 0 errors\)/,
    );
    expect(imported.code).toBe(0);

    const second = join(dir, 'second.zip');
    expect(
      (
        await lattice([
          'export',
          '--relay',
          relay.url,
          '--workspace',
          'copy',
          '--out',
          second,
          '--quiet',
        ])
      ).code,
    ).toBe(0);
    expect(Buffer.compare(await readFile(second), await readFile(first))).toBe(0);

    // Importing the same export again writes nothing.
    const again = await lattice(['import', '--relay', relay.url, '--workspace', 'copy', first]);
    expect(again.stdout).toMatch(/imported 0 notes into workspace copy \(5 already there/);
  }, 120_000);

  it('exports into a directory and imports a directory, reporting bad files and exiting 1', async () => {
    const dir = await tempDir();
    const out = join(dir, 'notes');
    const exported = await lattice(
      ['export', '--relay', relay.url, '--workspace', 'source', '--out', 'notes'],
      dir,
    );
    expect(exported.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'Plan (2).md',
      'Plan.md',
      'Q- -why-- 🤔 a-b.md',
      'Trash',
      'Untitled.md',
    ]);
    const notEmpty = await lattice([
      'export',
      '--relay',
      relay.url,
      '--workspace',
      'source',
      '--out',
      out,
    ]);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toMatch(/is not empty/);

    await writeFile(join(out, 'broken.md'), '---\ntitle: "open\n---\n');
    await writeFile(join(out, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await writeFile(join(out, 'image.png'), Buffer.from([0x89, 0x50]));
    const imported = await lattice(['import', '--relay', relay.url, '--workspace', 'fromdir', out]);
    expect(imported.code).toBe(1);
    expect(imported.stdout).toMatch(
      /imported 5 notes into workspace fromdir \(0 already there, 1 skipped, 2 errors\)/,
    );
    expect(imported.stderr).toContain('error   notes/broken.md: broken front matter');
    expect(imported.stderr).toContain('error   notes/latin1.md: not UTF-8 text');
    expect(imported.stderr).toContain('skipped notes/image.png: not a Markdown (.md) file');
  }, 120_000);
});

describe('lattice errors', () => {
  it('exits 2 with the usage for bad flags', async () => {
    const cases = [
      [],
      ['frobnicate'],
      ['export', '--workspace', 'w', '--out', 'x.zip'],
      ['export', '--relay', 'ftp://h', '--workspace', 'w', '--out', 'x.zip'],
      ['export', '--relay', 'http://h', '--workspace', 'a/b', '--out', 'x.zip'],
      ['export', '--relay', 'http://h', '--workspace', 'w'],
      ['import', '--relay', 'http://h', '--workspace', 'w'],
      ['import', '--relay', 'http://h', '--workspace', 'w', '--bogus', 'x.md'],
      [
        'import',
        '--relay',
        'http://h',
        '--workspace',
        'w',
        '--token',
        't',
        '--token-file',
        'f',
        'x.md',
      ],
    ];
    for (const args of cases) {
      const run = await lattice(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage:');
    }
  }, 120_000);

  it('exits 1 with a clear message when the relay cannot be reached', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const run = await lattice([
      'export',
      '--relay',
      `http://127.0.0.1:${port}`,
      '--workspace',
      'w',
      '--out',
      join(await tempDir(), 'x.zip'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot reach the relay at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  }, 60_000);

  it('exits 1 on a refused token (4401) and a token of another workspace (4403)', async () => {
    const secured = await SpawnedRelay.start({ dataDir: await tempDir(), args: ['--auth', 'on'] });
    const claim = async (id: string) => {
      const response = await fetch(`${secured.url}/api/workspaces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
      });
      return ((await response.json()) as { token: string }).token;
    };
    const token = await claim('mine');
    const other = await claim('theirs');
    await seed(secured.url, 'mine', token);
    const dir = await tempDir();
    await writeFile(join(dir, 'token'), `${token}\n`);
    const ok = await lattice(
      [
        'export',
        '--relay',
        secured.url,
        '--workspace',
        'mine',
        '--token-file',
        'token',
        '--out',
        'mine.zip',
      ],
      dir,
    );
    expect(ok.code).toBe(0);
    expect(Object.keys(unzipSync(await readFile(join(dir, 'mine.zip'))))).toHaveLength(5);

    const none = await lattice([
      'export',
      '--relay',
      secured.url,
      '--workspace',
      'mine',
      '--out',
      join(dir, 'a.zip'),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/refused the token \(4401 unauthorized\)/);
    const bad = await lattice([
      'import',
      '--relay',
      secured.url,
      '--workspace',
      'mine',
      '--token',
      'not-a-token',
      join(dir, 'mine.zip'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/4401 unauthorized/);
    const wrong = await lattice([
      'export',
      '--relay',
      secured.url,
      '--workspace',
      'mine',
      '--token',
      other,
      '--out',
      join(dir, 'b.zip'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/does not give access to this workspace \(4403 forbidden\)/);
    expect(await readdir(dir)).toEqual(['mine.zip', 'token']);
  }, 120_000);
});
