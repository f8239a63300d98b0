import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeYMessage,
  MemoryStorage,
  Replica,
  type ReplicaOptions,
  SyncStep,
  YMessageType,
} from '@lattice/replication';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LevelStorage, type RelayOptions, type RunningRelay, startRelay } from './index.ts';
import { FrameTally, wsTransportFactory } from './testing/index.ts';

const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-ae-'));
  dirs.push(dir);
  return dir;
}

/** Starts a relay; `port` 0 picks one, a number restarts "the same relay" on it. */
async function start(dataDir: string, port = 0, extra: Partial<RelayOptions> = {}) {
  const relay = await startRelay({
    auth: 'off',
    host: '127.0.0.1',
    port,
    dataDir,
    webDir: join(dataDir, 'no-web'),
    commitWindowMs: 2,
    ...extra,
  });
  cleanups.push(() => relay.close());
  return relay;
}

function syncUrl(relay: RunningRelay): string {
  return `ws://127.0.0.1:${relay.port}/sync`;
}

function replica(relay: RunningRelay, options: Partial<ReplicaOptions> = {}): Replica {
  const r = new Replica({
    storage: new MemoryStorage(),
    relays: [syncUrl(relay)],
    transportFactory: wsTransportFactory,
    backoff: { baseMs: 20, maxMs: 200 },
    onError: () => {},
    ...options,
  });
  cleanups.push(() => r.destroy());
  return r;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function text(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('body').toString();
}

/** What a brand-new device gets from `relay` for `names`. */
async function freshRead(relay: RunningRelay, names: string[]): Promise<string[]> {
  const fresh = replica(relay);
  for (const name of names) fresh.track(name);
  await fresh.whenSynced();
  const texts = await Promise.all(names.map(async (n) => text(await fresh.readStored(n))));
  await fresh.destroy();
  return texts;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the replica's link is up again and every doc's exchange with the relay is done. */
async function resynced(r: Replica): Promise<void> {
  await until(() => r.replicationInfo().relays[0]?.state !== 'connected', 'link drop', 5000).catch(
    () => undefined,
  );
  await r.whenSynced();
  await r.whenAcked();
}

describe('anti-entropy with the relay app (LevelDB)', { timeout: 30_000 }, () => {
  it('a client re-uploads everything after the relay data dir was wiped', async () => {
    const dataDir = await tempDir();
    const first = await start(dataDir);
    const a = replica(first);
    const names = ['w', 'w/n1', 'w/n2', 'w/n3'];
    const handles = await Promise.all(names.map((n) => a.open(n)));
    handles.forEach((h, i) => {
      h.doc.getText('body').insert(0, `content of ${names[i]}`);
    });
    await a.whenAcked();
    // Two of them only in the background from now on: they are re-uploaded from storage.
    a.track('w/n2');
    a.track('w/n3');
    handles[2]!.release();
    handles[3]!.release();

    await first.close();
    await rm(dataDir, { recursive: true, force: true });
    const empty = await LevelStorage.open(dataDir);
    expect(await empty.list('')).toEqual([]);
    await empty.close();
    const wiped = await start(dataDir, first.port);

    // Nothing is pending on the client: the relay's own state vector tells what it lacks.
    expect(a.status.pendingLocal).toBe(false);
    await resynced(a);
    await wiped.close();
    // Durably: a restart of the relay still has everything.
    const restarted = await start(dataDir, first.port);
    expect(await freshRead(restarted, names)).toEqual(names.map((n) => `content of ${n}`));
  });

  it('a relay restored from an older backup converges to the union of what clients hold', async () => {
    const dataDir = await tempDir();
    const backup = await tempDir();
    let relay = await start(dataDir);
    const port = relay.port;
    const a = replica(relay);
    const b = replica(relay);
    const [ha, hb] = await Promise.all([a.open('w/n1'), b.open('w/n1')]);
    const [ia] = await Promise.all([a.open('w'), b.track('w')]);
    ha.doc.getText('body').insert(0, 'v1 ');
    ia.doc.getText('body').insert(0, 'index v1');
    await a.whenAcked();

    await relay.close();
    await cp(dataDir, backup, { recursive: true });
    relay = await start(dataDir, port);
    await Promise.all([resynced(a), resynced(b)]);
    ha.doc.getText('body').insert(3, 'v2 ');
    await until(() => hb.doc.getText('body').toString() === 'v1 v2 ', 'b sees v2');
    hb.doc.getText('body').insert(6, 'from-b');
    ia.doc.getText('body').insert(8, ', v2');
    await Promise.all([a.whenAcked(), b.whenAcked()]);
    expect(await freshRead(relay, ['w/n1', 'w'])).toEqual(['v1 v2 from-b', 'index v1, v2']);

    // Disaster: the relay comes back from the older backup.
    await relay.close();
    await rm(dataDir, { recursive: true, force: true });
    await cp(backup, dataDir, { recursive: true });
    const restored = await LevelStorage.open(dataDir);
    expect(text(Y.mergeUpdates((await restored.load('w/n1')).updates))).toBe('v1 ');
    await restored.close();
    relay = await start(dataDir, port);

    await Promise.all([resynced(a), resynced(b)]);
    await relay.close();
    relay = await start(dataDir, port);
    expect(await freshRead(relay, ['w/n1', 'w'])).toEqual(['v1 v2 from-b', 'index v1, v2']);
  });

  it('sends close to the minimal diff on reconnect after a small offline edit', async () => {
    const dataDir = await tempDir();
    let relay = await start(dataDir);
    const tally = new FrameTally();
    const a = replica(relay, { transportFactory: tally.factory });
    const names = Array.from({ length: 50 }, (_, i) => `w/n${i}`);
    const open = await a.open('w/n7');
    for (const name of names) {
      if (name === 'w/n7') open.doc.getText('body').insert(0, 'seven '.repeat(300));
      else {
        const doc = new Y.Doc();
        doc.getText('body').insert(0, `${name} `.repeat(300));
        // Seeded through another device, so this replica only tracks them.
        const writer = replica(relay);
        const h = await writer.open(name);
        Y.applyUpdate(h.doc, Y.encodeStateAsUpdate(doc));
        await writer.whenAcked();
        await writer.destroy();
        a.track(name);
      }
    }
    await a.whenSynced();
    await a.whenAcked();
    const stateBytes = (
      await Promise.all(names.map(async (n) => (await a.readStored(n)).length))
    ).reduce((x, y) => x + y, 0);
    const relayVector = Y.encodeStateVector(open.doc);

    await relay.close();
    open.doc.getText('body').insert(10, 'a small offline edit');
    const minimal = Y.encodeStateAsUpdate(open.doc, relayVector);
    tally.reset();
    relay = await start(dataDir, relay.port);
    await resynced(a);
    await until(() => a.status.state === 'synced', 'synced');

    const upForN7 = tally.frames
      .filter((f) => f.direction === 'up')
      .flatMap((f) => f.messages)
      .filter((m) => m.docName === 'w/n7')
      .map((m) => ({ m, y: decodeYMessage(m.message) }));
    const step2 = upForN7.find(
      ({ y }) => y.type === YMessageType.Sync && y.step === SyncStep.Step2,
    );
    expect(step2).toBeDefined();
    const payload = step2!.y.type === YMessageType.Sync ? step2!.y.payload : new Uint8Array();
    const up = tally.docsBytes('up');
    const down = tally.docsBytes('down');
    console.log(
      `reconnect after a ${20}-char offline edit in 1 of ${names.length} docs (${stateBytes} B of state): ` +
        `edited doc's SyncStep2 ${payload.length} B vs minimal diff ${minimal.length} B; ` +
        `all Docs frames ${up} B up + ${down} B down in ${tally.frames.filter((f) => f.type === 1).length} frames`,
    );
    // The edit travels as (about) the minimal diff: Yjs's diff from the relay's state vector.
    expect(payload.length).toBeLessThanOrEqual(minimal.length + 8);
    expect(text(await a.readStored('w/n7'))).toContain('a small offline edit');
    // No full-state resend: the whole reconnect is a small fraction of the state.
    expect(up + down).toBeLessThan(stateBytes / 10);
  });
});
