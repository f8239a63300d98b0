import { ReplicaWorld } from '@lattice/replication/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { noteDocName } from './ids.ts';
import { NoteStore } from './NoteStore.ts';

// NoteStore over the real front end (`Replica`) and relay core, in memory.
describe('NoteStore over Replica and RelayCore', () => {
  let world: ReplicaWorld;
  afterEach(async () => {
    await world.close();
  });

  it('a note written on one replica is listed, searchable and readable on another that never opened it', async () => {
    world = new ReplicaWorld();
    const a = world.replica();
    const b = world.replica();
    const storeA = await NoteStore.open({ workspaceId: 'ws1', source: a });
    const storeB = await NoteStore.open({ workspaceId: 'ws1', source: b });

    const id = await storeA.create({ title: 'Groceries', body: 'milk and sourdough' });
    await a.whenSynced();
    await expect.poll(() => storeB.get(id)?.title, { timeout: 5000 }).toBe('Groceries');
    await b.whenSynced();

    // B tracked the note doc in the background: it is stored without being opened.
    const stored = await b.readStored(noteDocName('ws1', id));
    expect(stored.length).toBeGreaterThan(2);
    await storeB.whenIndexed();
    await expect
      .poll(() => storeB.search('sourd').map((h) => h.id), { timeout: 5000 })
      .toEqual([id]);
    expect(storeB.get(id)?.snippet).toContain('milk and sourdough');
    storeA.close();
    storeB.close();
  });

  it('an edit on B while A trashes the note survives; restore brings it back', async () => {
    world = new ReplicaWorld();
    const a = world.replica();
    const b = world.replica();
    const storeA = await NoteStore.open({ workspaceId: 'ws2', source: a });
    const storeB = await NoteStore.open({ workspaceId: 'ws2', source: b });
    const id = await storeA.create({ title: 'Draft', body: 'one' });
    await a.whenSynced();
    await expect.poll(() => storeB.get(id)?.title, { timeout: 5000 }).toBe('Draft');
    // The index entry can arrive before the note's body: wait for the body too,
    // so B's offline edit lands after 'one' rather than concurrently with it.
    await expect.poll(() => storeB.get(id)?.arriving, { timeout: 5000 }).toBe(false);

    world.network.setOnline(false);
    await storeB.edit(id, (body) => body.insert(body.length, ' two three'));
    storeA.trash(id);
    world.network.setOnline(true);
    a.reconnect();
    b.reconnect();
    await Promise.all([a.whenSynced(), b.whenSynced()]);

    for (const store of [storeA, storeB]) {
      await expect.poll(() => store.get(id)?.trashedAt ?? null, { timeout: 5000 }).not.toBeNull();
      const handle = await store.openNote(id);
      await expect.poll(() => handle.body.toString(), { timeout: 5000 }).toBe('one two three');
      handle.release();
    }
    storeB.restore(id);
    await b.whenSynced();
    await expect.poll(() => storeA.get(id)?.trashedAt ?? null, { timeout: 5000 }).toBeNull();
    storeA.close();
    storeB.close();
  });
});
