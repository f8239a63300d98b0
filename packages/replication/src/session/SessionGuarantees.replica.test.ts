import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { StorageAdapter, SyncStatus } from '../ports.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { ReplicaWorld } from '../testing/ReplicaWorld.ts';
import { svCovers } from './coverage.ts';
import { SESSION_META_PREFIX } from './SessionGuarantees.ts';
import { decodeRecord, requiredStateMap } from './sessionRecord.ts';

const DOC = 'ws/note';

// Session guarantees through the real front end (`Replica`) and relay core, in memory.
describe('session guarantees over Replica and RelayCore', () => {
  let world: ReplicaWorld;
  afterEach(async () => {
    await world.close();
    expect(world.errors).toEqual([]);
  });

  it('a fresh device with the session token does not show the relay’s older snapshot as current, until the write arrives', async () => {
    world = new ReplicaWorld();
    const storageA = new MemoryStorage();
    const a = world.replica({ storage: storageA });
    const handleA = await a.open(DOC);
    handleA.doc.getText('body').insert(0, 'base');
    await a.whenAcked();
    world.network.setOnline(false);
    handleA.doc.getText('body').insert(4, ' mine'); // only on device A
    const token = await a.exportSession([DOC]);
    handleA.release();
    await a.destroy();
    world.network.setOnline(true);

    const c = world.replica();
    c.importSession(token);
    const statuses: SyncStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    const handle = await c.open(DOC);
    const flips: boolean[] = [];
    handle.onCurrentChange((current) => flips.push(current));
    await c.whenSynced();
    // Presenting the relay snapshot on arrival would show "base" as the note.
    expect(handle.doc.getText('body').toString()).toBe('base');
    expect(handle.current).toBe(false);
    expect(c.replicationInfo().sessionWarnings).toEqual([
      { docName: DOC, guarantee: 'read-your-writes', message: expect.any(String) },
    ]);

    // Device A comes back and uploads what the relay lacked.
    world.replica({ storage: storageA });
    await expect.poll(() => handle.current, { timeout: 5000 }).toBe(true);
    expect(handle.doc.getText('body').toString()).toBe('base mine');
    expect(flips).toEqual([true]);
    expect(c.replicationInfo().sessionWarnings).toEqual([]);
    expect(statuses.length).toBeGreaterThan(0);
    handle.release();
  });

  it('persists the record with the doc: a reload shows the doc as current; forget removes it; its meta keys are reserved', async () => {
    world = new ReplicaWorld();
    const storage = new MemoryStorage();
    const a = world.replica({ storage, relays: [] });
    const handle = await a.open(DOC);
    handle.doc.getText('body').insert(0, 'kept');
    handle.release();
    await a.destroy();
    expect(await storage.getMeta(SESSION_META_PREFIX + DOC)).toBeDefined();

    const reloaded = world.replica({ storage, relays: [] });
    const again = await reloaded.open(DOC);
    expect(again.current).toBe(true);
    expect(again.doc.getText('body').toString()).toBe('kept');
    again.release();
    await expect(reloaded.setMeta(`${SESSION_META_PREFIX}x`, new Uint8Array([1]))).rejects.toThrow(
      /reserved/,
    );
    expect(() => reloaded.importSession('not a token')).toThrow(/not a session token/);

    await reloaded.forget(DOC);
    expect(await storage.getMeta(SESSION_META_PREFIX + DOC)).toBeUndefined();
  });

  it('a doc whose stored updates were lost is not current after a reload (the record outlived them)', async () => {
    world = new ReplicaWorld();
    const storage = new MemoryStorage();
    const a = world.replica({ storage, relays: [] });
    const handle = await a.open(DOC);
    handle.doc.getText('body').insert(0, 'written');
    handle.release();
    await a.destroy();
    await storage.delete(DOC); // e.g. a storage failure that kept the meta area

    const reloaded = world.replica({ storage, relays: [] });
    const again = await reloaded.open(DOC);
    expect(again.doc.getText('body').toString()).toBe('');
    expect(again.current).toBe(false);
    expect(reloaded.replicationInfo().sessionWarnings.map((w) => w.guarantee)).toEqual([
      'read-your-writes',
    ]);
    await reloaded.resetSession(DOC);
    expect(again.current).toBe(true);
    again.release();
  });

  it('never stores a record ahead of the updates it names, even when appends are slow', async () => {
    world = new ReplicaWorld();
    const inner = new MemoryStorage();
    const ahead: string[] = [];
    let writes = 0;
    const storage: StorageAdapter = {
      load: (doc) => inner.load(doc),
      append: async (doc, updates) => {
        // Slower than the record's persist delay, so a record could overtake it.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await inner.append(doc, updates);
      },
      compact: (doc, snapshot, cursor) => inner.compact(doc, snapshot, cursor),
      list: (prefix) => inner.list(prefix),
      delete: (doc) => inner.delete(doc),
      getMeta: (key) => inner.getMeta(key),
      setMeta: async (key, value) => {
        if (key.startsWith(SESSION_META_PREFIX) && value !== undefined) {
          writes++;
          const docName = key.slice(SESSION_META_PREFIX.length);
          const stored = Y.mergeUpdates((await inner.load(docName)).updates);
          const have = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(stored));
          if (!svCovers(have, requiredStateMap(decodeRecord(value)))) ahead.push(docName);
        }
        await inner.setMeta(key, value);
      },
      close: () => inner.close(),
    };
    const a = world.replica({ storage, relays: [] });
    const handle = await a.open(DOC);
    // Past the record's 1 s persist delay, so a record is written mid-typing too.
    for (let i = 0; i < 7; i++) {
      handle.doc.getText('body').insert(0, `${i} `);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    handle.release();
    await a.destroy();
    expect(writes).toBeGreaterThan(1);
    expect(ahead).toEqual([]);
  });
});
