import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

const names = ['w/a', 'w/b', 'w/c'];

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 4000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every `onDocChanged` call, in order: the doc and the stored state it carried, if any. */
function recordChanges(replica: {
  onDocChanged(listener: (docName: string, stored?: Uint8Array) => void): () => void;
}): Array<{ docName: string; stored: Uint8Array | undefined }> {
  const changes: Array<{ docName: string; stored: Uint8Array | undefined }> = [];
  replica.onDocChanged((docName, stored) => changes.push({ docName, stored }));
  return changes;
}

/** A world with the seeded docs on its relay and a fresh replica that tracked and synced them all, its changes recorded. */
async function freshDeviceSynced() {
  const w = new ReplicaWorld();
  worlds.push(w);
  await w.seedRelay(names);
  const replica = w.replica();
  const changes = recordChanges(replica);
  for (const name of names) replica.track(name);
  await replica.whenSynced();
  return { w, replica, changes };
}

describe('Replica.onDocChanged: the stored state handed to listeners', () => {
  it('a fresh device reports each background doc with its whole stored state, exactly what readStored returns', async () => {
    const { replica, changes } = await freshDeviceSynced();
    await eventually(() => changes.length >= names.length, 'every doc reported');
    for (const name of names) {
      const first = changes.find((c) => c.docName === name);
      expect(first?.stored).toBeInstanceOf(Uint8Array);
      expect(first?.stored).toEqual(await replica.readStored(name));
    }
  });

  it('a later change to a doc it already stores carries no state (the stored state is more than that update)', async () => {
    const { w, replica, changes } = await freshDeviceSynced();

    const writer = w.replica();
    const handle = await writer.open('w/a');
    await writer.whenSynced();
    changes.length = 0;
    handle.doc.getText('body').insert(0, 'more ');
    await writer.whenSynced();
    await eventually(() => changes.some((c) => c.docName === 'w/a'), 'the edit reported');
    expect(changes.filter((c) => c.docName === 'w/a').map((c) => c.stored)).toEqual([undefined]);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, await replica.readStored('w/a'));
    expect(doc.getText('body').toString()).toBe('more text of w/a');
    handle.release();
  });

  it('a returning device reports the relay answer without a state, even one it stores with a summary', async () => {
    const w = new ReplicaWorld();
    worlds.push(w);
    const device = new MemoryStorage();
    // The relay's answer is then a delete set alone, which the replica stores
    // with a summary extended from the stored one: still not the whole state.
    for (const name of names) {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, `text of ${name}`);
      await device.append(name, [Y.encodeStateAsUpdate(doc)]);
      doc.getText('body').delete(0, 5);
      await w.relayStorage.append(name, [Y.encodeStateAsUpdate(doc)]);
    }
    const replica = w.replica({ storage: device });
    const changes = recordChanges(replica);
    for (const name of names) replica.track(name);
    await replica.whenSynced();
    await eventually(() => changes.length >= names.length, 'every doc reported');
    for (const name of names) {
      const reported = changes.filter((c) => c.docName === name);
      expect(reported.length).toBeGreaterThan(0);
      for (const change of reported) expect(change.stored).toBeUndefined();
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await replica.readStored(name));
      expect(doc.getText('body').toString()).toBe(`of ${name}`);
    }
  });

  it('readStored reads no storage for a doc not received yet, and reads it once stored', async () => {
    const w = new ReplicaWorld();
    worlds.push(w);
    await w.seedRelay(names);
    let loads = 0;
    class CountingStorage extends MemoryStorage {
      override load(docName: string) {
        loads++;
        return super.load(docName);
      }
    }
    const replica = w.replica({ storage: new CountingStorage() });
    const release = replica.holdBackground();
    for (const name of names) replica.track(name);
    const open = await replica.open('w/z');
    await eventually(() => replica.docStatus('w/z').state === 'synced', 'start-up done');
    loads = 0;
    const textOf = async (name: string) => {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await replica.readStored(name));
      return doc.getText('body').toString();
    };
    for (const name of names) expect(await textOf(name)).toBe('');
    expect(loads).toBe(0);
    release();
    await replica.whenSynced();
    for (const name of names) expect(await textOf(name)).toBe(`text of ${name}`);
    expect(loads).toBe(names.length);
    open.release();
  });
});
