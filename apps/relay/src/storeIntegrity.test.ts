import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import * as prng from 'lib0/prng';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';
import { LevelStorage } from './LevelStorage.ts';
import { checkLogBytes } from './logFileCheck.ts';
import { SpawnedRelay } from './testing/index.ts';

const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-integrity-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await SpawnedRelay.killAll();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Incompressible updates, so that LevelDB stores them as they are. */
function updates(random: prng.PRNG, count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, () => prng.uint8Array(random, size));
}

/**
 * A store holding `docs` docs, flushed into a table file (`.ldb`) when
 * `inTable`, else still in the write-ahead log.
 */
async function makeStore(inTable: boolean): Promise<{ dir: string; expected: Uint8Array[] }> {
  const dir = await tempDir();
  const random = prng.create(42);
  const storage = await LevelStorage.open(dir);
  const expected = updates(random, 40, 1000);
  await storage.append('w1/doc', expected);
  await storage.append('w1/other', updates(random, 10, 500));
  await storage.setMeta('relay-id', new TextEncoder().encode('r1'));
  await storage.close();
  if (inTable) {
    // Reopening recovers the log into a level-0 table file.
    await (await LevelStorage.open(dir)).close();
  }
  return { dir, expected };
}

async function filesOf(dir: string, pattern: RegExp): Promise<string[]> {
  return (await readdir(dir)).filter((n) => pattern.test(n)).sort();
}

async function flipByte(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x5a;
  await writeFile(file, bytes);
}

/** Every file's bytes, to show a refused store was left as it was. */
async function snapshotDir(dir: string, pattern = /./): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await filesOf(dir, pattern)) {
    out.set(name, (await readFile(join(dir, name))).toString('base64'));
  }
  return out;
}

describe('corrupt or truncated store: refused at open with a clear message', () => {
  it('a healthy store opens and reads back', async () => {
    const { dir, expected } = await makeStore(true);
    expect(await filesOf(dir, /\.ldb$/)).not.toEqual([]);
    const storage = await LevelStorage.open(dir);
    expect((await storage.load('w1/doc')).updates).toEqual(expected);
    await storage.close();
  });

  it('flipped bytes in a table file (.ldb)', async () => {
    const { dir } = await makeStore(true);
    const [table] = await filesOf(dir, /\.ldb$/);
    await flipByte(join(dir, table!), 2000);
    const tables = await snapshotDir(dir, /\.ldb$/);
    const refusal = LevelStorage.open(dir);
    await expect(refusal).rejects.toThrow(`relay store at ${dir} is corrupt`);
    await expect(refusal).rejects.toThrow(/checksum|Corruption/);
    // Nothing was "repaired" away: the table is still there, byte for byte, and still refused.
    expect(await snapshotDir(dir, /\.ldb$/)).toEqual(tables);
    await expect(LevelStorage.open(dir)).rejects.toThrow(/is corrupt/);
  });

  it('flipped bytes in the write-ahead log (.log), which LevelDB would drop silently', async () => {
    const { dir } = await makeStore(false);
    const [log] = await filesOf(dir, /\.log$/);
    const size = (await stat(join(dir, log!))).size;
    expect(size).toBeGreaterThan(20_000);
    await flipByte(join(dir, log!), 15_000);
    const before = await snapshotDir(dir);
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      new RegExp(
        `relay store at ${dir} is corrupt: ${log} has a damaged record .*checksum mismatch`,
      ),
    );
    // LevelDB was never opened: every file is exactly as it was.
    expect(await snapshotDir(dir)).toEqual(before);
  });

  it('a truncated table file', async () => {
    const { dir } = await makeStore(true);
    const [table] = await filesOf(dir, /\.ldb$/);
    const file = join(dir, table!);
    await truncate(file, Math.floor((await stat(file)).size / 2));
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      new RegExp(`relay store at ${dir} is corrupt: .*(truncated|Corruption|magic|\\.ldb)`, 'i'),
    );
  });

  it('a deleted table file', async () => {
    const { dir } = await makeStore(true);
    const [table] = await filesOf(dir, /\.ldb$/);
    await unlink(join(dir, table!));
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      new RegExp(`relay store at ${dir} is corrupt: .*missing files`, 'i'),
    );
  });

  it('a truncated manifest', async () => {
    const { dir } = await makeStore(true);
    const [manifest] = await filesOf(dir, /^MANIFEST-/);
    await truncate(join(dir, manifest!), 10);
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      new RegExp(`relay store at ${dir} is corrupt: .*Corruption`),
    );
  });

  it('a value corrupted through LevelDB itself (bad record checksum): refused at start, and on load', async () => {
    const { dir } = await makeStore(true);
    const raw = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const key = 'u!w1%2Fdoc!0000000000000003';
    const value = (await raw.get(key))!;
    const bad = new Uint8Array(value);
    bad[10] = (bad[10] ?? 0) ^ 1;
    await raw.put(key, bad);
    await raw.close();
    await expect(LevelStorage.open(dir)).rejects.toThrow(
      `relay store at ${dir} is corrupt: record ${key} fails its checksum`,
    );
    // Without the start-up check the damage still never reaches a client.
    const storage = await LevelStorage.open(dir, { verify: false });
    await expect(storage.load('w1/doc')).rejects.toThrow(/fails its checksum/);
    expect((await storage.load('w1/other')).updates).toHaveLength(10);
    await storage.close();
  });

  it('migrates a format 1 store (bare values) to format 2, keeping every record', async () => {
    const dir = await tempDir();
    const raw = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    await raw.put('m!lattice:format', Uint8Array.of(1));
    await raw.put('u!w1%2Fd!0000000000000001', Uint8Array.of(1, 2, 3));
    await raw.put('u!w1%2Fd!0000000000000002', Uint8Array.of(4));
    await raw.put('m!relay-id', Uint8Array.of(9));
    await raw.close();
    const storage = await LevelStorage.open(dir);
    expect(await storage.load('w1/d')).toEqual({
      updates: [Uint8Array.of(1, 2, 3), Uint8Array.of(4)],
      cursor: 2,
    });
    expect(await storage.getMeta('relay-id')).toEqual(Uint8Array.of(9));
    await storage.close();
    const again = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' });
    expect([...((await again.get('m!lattice:format')) ?? [])]).toEqual([2]);
    await again.close();
  });

  it('the real relay exits 1, naming the data dir and the damage, and never listens', async () => {
    const { dir } = await makeStore(true);
    const [table] = await filesOf(dir, /\.ldb$/);
    await flipByte(join(dir, table!), 2000);
    const relay = SpawnedRelay.spawn({ dataDir: dir });
    expect(await relay.exited).toEqual({ code: 1, signal: null });
    expect(relay.stderr()).toContain(`relay store at ${dir} is corrupt`);
    expect(relay.stderr()).toMatch(/Refusing to serve it/);
    expect(relay.stdout()).not.toMatch(/listening on/);
  }, 30_000);
});

describe('checkLogBytes (LevelDB log records)', () => {
  /** One FULL record as LevelDB writes it. */
  function record(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(7 + data.length);
    const view = new DataView(out.buffer);
    const crc = crc32c(data, crc32c(Uint8Array.of(1)));
    const rot = ((crc >>> 15) | (crc << 17)) >>> 0;
    view.setUint32(0, (rot + 0xa282ead8) >>> 0, true);
    view.setUint16(4, data.length, true);
    out[6] = 1;
    out.set(data, 7);
    return out;
  }

  it('accepts intact records and a torn final write; refuses a bad checksum', () => {
    const a = record(Uint8Array.of(1, 2, 3));
    const b = record(new Uint8Array(100).fill(7));
    const log = new Uint8Array([...a, ...b]);
    expect(checkLogBytes('x.log', log)).toBeUndefined();
    expect(checkLogBytes('x.log', log.subarray(0, log.length - 10))).toBeUndefined();
    const flipped = new Uint8Array(log);
    flipped[a.length + 50] = (flipped[a.length + 50] ?? 0) ^ 1;
    expect(checkLogBytes('x.log', flipped)).toMatchObject({
      offset: a.length,
      problem: 'checksum mismatch',
    });
  });
});
