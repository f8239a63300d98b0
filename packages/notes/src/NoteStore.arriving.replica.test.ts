import { decodeFrame, FrameType } from '@lattice/replication';
import { ReplicaWorld } from '@lattice/replication/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { noteDocName } from './ids.ts';
import { NoteStore } from './NoteStore.ts';
import { readNoteNaively } from './testing/index.ts';

/** Doc names a frame carries sync messages for (none for acks, heartbeats, …). */
function docsIn(frame: Uint8Array): string[] {
  const decoded = decodeFrame(frame);
  return decoded.type === FrameType.Docs ? decoded.messages.map((m) => m.docName) : [];
}

// A fresh replica gets the index doc before the note doc, over the real front end and relay core.
describe('NoteStore over Replica: a note that is still arriving', () => {
  let world: ReplicaWorld;
  afterEach(async () => {
    await world.close();
  });

  it('a fresh replica lists the note as arriving until its doc arrives, then shows it; an edit made meanwhile is kept', async () => {
    let holding: string | null = null;
    const held: (() => void)[] = [];
    world = new ReplicaWorld({
      // Holds relay → front end frames that carry the held doc (a slow path for
      // that doc only); everything else flows as on a socket.
      schedule: (deliver, frame, direction) => {
        if (holding !== null && direction === 'down' && docsIn(frame).includes(holding)) {
          held.push(deliver);
          return;
        }
        setTimeout(deliver, 0);
      },
    });
    const a = world.replica();
    const storeA = await NoteStore.open({ workspaceId: 'ws', source: a });
    const id = await storeA.create({ title: 'Trip', body: 'passport, tickets' });
    await a.whenAcked();

    holding = noteDocName('ws', id);
    const b = world.replica();
    const storeB = await NoteStore.open({ workspaceId: 'ws', source: b });
    await expect.poll(() => storeB.get(id)?.title, { timeout: 5000 }).toBe('Trip');
    expect(storeB.get(id)?.arriving).toBe(true);
    await expect.poll(() => held.length, { timeout: 5000 }).toBeGreaterThan(0);
    // What a naive reader would show: an empty note.
    expect(await readNoteNaively(b, 'ws', id)).toBe('');

    const handle = await storeB.openNote(id);
    expect(handle.arriving).toBe(true);
    handle.body.insert(0, 'B: ');

    holding = null;
    for (const deliver of held.splice(0)) deliver();
    await handle.whenArrived();
    expect(handle.arriving).toBe(false);
    expect(handle.body.toString()).toContain('passport, tickets');
    expect(handle.body.toString()).toContain('B: ');
    await expect.poll(() => storeB.get(id)?.arriving, { timeout: 5000 }).toBe(false);
    handle.release();

    // The edit made while arriving reaches A too.
    await b.whenAcked();
    const onA = await storeA.openNote(id);
    await expect.poll(() => onA.body.toString(), { timeout: 5000 }).toContain('B: ');
    onA.release();
    storeA.close();
    storeB.close();
  });
});
