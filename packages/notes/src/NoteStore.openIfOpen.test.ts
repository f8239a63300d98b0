import { ReplicaWorld } from '@lattice/replication/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { NoteStore } from './NoteStore.ts';
import { MemoryDocSource } from './testing/MemoryDocSource.ts';

// `openNoteIfOpen` lets the web app show a note held open (warmed) without a read.
describe('NoteStore.openNoteIfOpen', () => {
  let world: ReplicaWorld | null = null;
  afterEach(async () => {
    await world?.close();
    world = null;
  });

  it('is null unless a handle holds the note, and never hands out a released doc', async () => {
    const store = await NoteStore.open({ workspaceId: 'ws', source: new MemoryDocSource() });
    const id = await store.create({ title: 'One', body: 'hello' });
    expect(store.openNoteIfOpen(id)).toBeNull();
    const held = await store.openNote(id);
    const again = store.openNoteIfOpen(id);
    expect(again?.doc).toBe(held.doc);
    expect(again?.body.toString()).toBe('hello');
    // The second handle keeps the doc open after the first lets go.
    held.release();
    const third = store.openNoteIfOpen(id);
    expect(third?.doc).toBe(held.doc);
    again?.release();
    third?.release();
    expect(store.openNoteIfOpen(id)).toBeNull();
    const reopened = await store.openNote(id);
    expect(reopened.doc).not.toBe(held.doc);
    expect(reopened.body.toString()).toBe('hello');
    reopened.release();
    store.close();
  });

  it('throws for a note the index does not hold, as openNote rejects', async () => {
    const store = await NoteStore.open({ workspaceId: 'ws', source: new MemoryDocSource() });
    expect(() => store.openNoteIfOpen('nope')).toThrow(/no note "nope"/);
    await expect(store.openNote('nope')).rejects.toThrow(/no note "nope"/);
    store.close();
  });

  it('a note held open since before another device edited it shows that edit (monotonic reads)', async () => {
    world = new ReplicaWorld();
    const a = world.replica();
    const b = world.replica();
    const storeA = await NoteStore.open({ workspaceId: 'ws3', source: a });
    const storeB = await NoteStore.open({ workspaceId: 'ws3', source: b });
    const id = await storeA.create({ title: 'Shared', body: 'first' });
    await a.whenSynced();
    await expect.poll(() => storeB.get(id)?.arriving, { timeout: 5000 }).toBe(false);
    // B warms the note, then A edits it and B's list learns of the edit.
    const warm = await storeB.openNote(id);
    expect(warm.body.toString()).toBe('first');
    await storeA.edit(id, (body) => body.insert(body.length, ' second'));
    await a.whenSynced();
    await expect.poll(() => storeB.get(id)?.snippet, { timeout: 5000 }).toContain('second');
    // Whatever the list shows, the note opened from memory shows too (never older).
    const shown = storeB.openNoteIfOpen(id);
    expect(shown?.body.toString()).toBe('first second');
    expect(shown?.arriving).toBe(false);
    shown?.release();
    warm.release();
    storeA.close();
    storeB.close();
  });
});
