import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { StorageAdapter } from './ports.ts';
import { textOf } from './relay/testing/roomMember.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

function world(): ReplicaWorld {
  const w = new ReplicaWorld();
  worlds.push(w);
  return w;
}

/** A MemoryStorage that counts the calls a start-up should not need. */
class CountingStorage extends MemoryStorage {
  loads = 0;
  appends = 0;
  loaded = new Set<string>();
  override load(docName: string): ReturnType<StorageAdapter['load']> {
    this.loads++;
    this.loaded.add(docName);
    return super.load(docName);
  }
  override append(docName: string, updates: readonly Uint8Array[], summary?: Uint8Array) {
    this.appends++;
    return super.append(docName, updates, summary);
  }
}

const names = Array.from({ length: 40 }, (_, i) => `w/${String(i).padStart(2, '0')}`);

/** Docs on the relay, each with insertions and deletions (a non-empty delete set) by two clients. */
async function seed(w: ReplicaWorld): Promise<void> {
  for (const name of names) {
    const doc = new Y.Doc();
    const text = doc.getText('body');
    text.insert(0, `note ${name} with some words`);
    text.delete(2, 3);
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    other.getText('body').insert(0, 'x');
    other.getText('body').delete(4, 2);
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));
    await w.relayStorage.append(name, [Y.encodeStateAsUpdate(doc)]);
  }
}

async function expectedTexts(w: ReplicaWorld): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const name of names) {
    texts.set(name, textOf(Y.mergeUpdates((await w.relayStorage.load(name)).updates)));
  }
  return texts;
}

describe('Replica start-up from stored summaries', () => {
  it('a returning replica syncs unchanged background docs without reading or storing them', async () => {
    const w = world();
    await seed(w);
    const storage = new CountingStorage();
    const first = w.replica({ storage });
    for (const name of names) first.track(name);
    await first.whenSynced();
    await first.destroy();
    // Every doc has a summary now (written along the fresh device's appends).
    expect((await storage.loadSummaries()).size).toBe(names.length);

    storage.loads = 0;
    storage.appends = 0;
    const second = w.replica({ storage });
    for (const name of names) second.track(name);
    await second.whenSynced();
    expect(storage.loads).toBe(0);
    expect(storage.appends).toBe(0);
    expect(second.progress).toEqual({ synced: names.length, total: names.length });
    const expected = await expectedTexts(w);
    for (const name of names) {
      expect(textOf(await second.readStored(name))).toBe(expected.get(name));
    }
    expect(w.errors).toEqual([]);
  });

  it('stores what changed elsewhere meanwhile: deletions alone and insertions', async () => {
    const w = world();
    await seed(w);
    const storage = new CountingStorage();
    const first = w.replica({ storage });
    for (const name of names) first.track(name);
    await first.whenSynced();
    await first.destroy();

    const editor = w.replica();
    const deleted = await editor.open('w/03');
    const inserted = await editor.open('w/07');
    await editor.whenSynced();
    deleted.doc.getText('body').delete(0, 3);
    inserted.doc.getText('body').insert(1, 'NEW');
    await editor.whenAcked();
    deleted.release();
    inserted.release();

    storage.appends = 0;
    const second = w.replica({ storage });
    for (const name of names) second.track(name);
    await second.whenSynced();
    expect(storage.appends).toBe(2);
    const expected = await expectedTexts(w);
    for (const name of names) {
      expect(textOf(await second.readStored(name))).toBe(expected.get(name));
    }
    // And the summaries still hold: a third start reads and stores nothing.
    await second.destroy();
    storage.loads = 0;
    storage.appends = 0;
    const third = w.replica({ storage });
    for (const name of names) third.track(name);
    await third.whenSynced();
    expect(storage.appends).toBe(0);
    expect(storage.loads).toBe(0);
  });

  it('still hands its docs to a relay that lacks them', async () => {
    const w = world();
    await seed(w);
    const storage = new CountingStorage();
    const first = w.replica({ storage });
    for (const name of names) first.track(name);
    await first.whenSynced();
    await first.destroy();

    // A relay that never saw these docs: the summaries must not make us skip our answer.
    const empty = world();
    const second = empty.replica({ storage });
    for (const name of names) second.track(name);
    await second.whenSynced();
    const expected = await expectedTexts(w);
    for (const name of names) {
      const held = Y.mergeUpdates((await empty.relayStorage.load(name)).updates);
      expect(textOf(held)).toBe(expected.get(name));
    }
  });

  it('reads a doc whose summary was dropped by an append without one (another writer)', async () => {
    const w = world();
    await seed(w);
    const storage = new CountingStorage();
    const first = w.replica({ storage });
    for (const name of names) first.track(name);
    await first.whenSynced();
    await first.destroy();

    // Another writer (an old tab, say) appends a local change behind the summary's back.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.mergeUpdates((await storage.load('w/05')).updates));
    const before = Y.encodeStateVector(doc);
    doc.getText('body').insert(0, 'offline ');
    await storage.append('w/05', [Y.encodeStateAsUpdate(doc, before)]);

    storage.loaded.clear();
    const second = w.replica({ storage });
    for (const name of names) second.track(name);
    await second.whenSynced();
    // Only that doc was read; the relay received its change.
    expect([...storage.loaded]).toEqual(['w/05']);
    const held = Y.mergeUpdates((await w.relayStorage.load('w/05')).updates);
    expect(textOf(held).startsWith('offline ')).toBe(true);
  });
});
