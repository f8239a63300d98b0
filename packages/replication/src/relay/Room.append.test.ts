import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import {
  decodeYMessage,
  ProtocolError,
  SyncStep,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { Room } from './Room.ts';
import { edit, member, step1, textOf } from './testing/roomMember.ts';
import { checkUpdate, takeCheckedAppendShape, UpdateRejectedError } from './updateGuard.ts';

// Live appends: a room without a doc takes a client's checked update into its
// log without integrating it (bench/README.md, "Fan-out", seventh round).
// These pin when it may (and what then holds: forwarding, storage, acks, the
// state vector, answers, reports) and when the update must go through Yjs.

const DOC = 'w1/n1';
const EMPTY_VECTOR = new Uint8Array([0]);

function makeRoom(storage: StorageAdapter, compactAfterUpdates = 500) {
  const durable: Uint8Array[] = [];
  const room = new Room(DOC, {
    storage,
    commitWindowMs: 2,
    idleUnloadMs: 60_000,
    compactAfterUpdates,
    log: () => {},
    onUnloaded: () => {},
    onDurable: (_room, _fingerprint, stateVector) => durable.push(stateVector),
    // As in the relay: the index reads the durable state when it needs it.
    onDurableChanged: () => {},
  });
  return { room, durable };
}

/**
 * A new doc's room over fresh storage, loaded, with client member `a` joined,
 * and `b` too when `members` is 2.
 */
async function loaded(members: 1 | 2 = 1, compactAfterUpdates?: number) {
  const storage = new MemoryStorage();
  const { room, durable } = makeRoom(storage, compactAfterUpdates);
  await room.load();
  const a = member();
  const b = member();
  room.join(a);
  if (members === 2) room.join(b);
  return { storage, room, durable, a, b };
}

/** A client's update as the session hands it on: checked by the update guard first. */
function checked(update: Uint8Array): YMessage {
  checkUpdate(update);
  return { type: YMessageType.Sync, step: SyncStep.Update, payload: update };
}

function answerIn(replies: Uint8Array[]): Uint8Array {
  const message = decodeYMessage(replies[0] as Uint8Array);
  if (message.type !== YMessageType.Sync || message.step !== SyncStep.Step2) {
    throw new Error('no SyncStep2 in the replies');
  }
  return message.payload;
}

/** The update a client's deletion emits (no structs: a delete set alone). */
function removal(doc: Y.Doc, index: number, length: number): Uint8Array {
  let update: Uint8Array | undefined;
  const take = (u: Uint8Array) => {
    update = u;
  };
  doc.on('update', take);
  doc.getText('body').delete(index, length);
  doc.off('update', take);
  if (update === undefined) throw new Error('the deletion changed nothing');
  return update;
}

async function stored(storage: StorageAdapter): Promise<Uint8Array[]> {
  return (await storage.load(DOC)).updates;
}

describe('Room live appends (a client update into the log, no doc)', () => {
  it('forwards, stores and acks checked updates of a new doc with the exact state vector, without building the doc', async () => {
    const storage = new MemoryStorage();
    const { room, durable } = makeRoom(storage);
    await room.load();
    // A new doc reports the empty doc's state at load, as when it was built then.
    expect(durable).toEqual([EMPTY_VECTOR]);
    const a = member();
    const b = member();
    room.join(a);
    room.join(b);
    const client = new Y.Doc();
    const first = edit(client, 'hello');
    room.receive(a, checked(first), 1);
    const afterFirst = Y.encodeStateVector(client);
    // Holds everything: the answer (the delete set alone) is cached for the log as it is now.
    expect(textOf(first, answerIn(room.receive(b, step1(afterFirst))))).toBe('hello');
    room.receive(a, checked(edit(client, ' world', 5)), 2);
    expect(room.isMaterialised).toBe(false);
    expect(b.sent.map((m) => m.type)).toEqual([YMessageType.Sync, YMessageType.Sync]);
    expect(a.sent).toEqual([]);
    await room.flush();
    // Acked after the commit, with the vector Yjs would give for the doc.
    expect(a.acks.flatMap((ack) => ack.seqs)).toEqual([1, 2]);
    expect(a.acks.at(-1)?.stateVector).toEqual(Y.encodeStateVector(client));
    expect(room.stateVector()).toEqual(Y.encodeStateVector(client));
    expect(textOf(...(await stored(storage)))).toBe('hello world');
    // Answers come from the log with the appends: all of it, or what a vector lacks.
    expect(textOf(answerIn(room.receive(b, step1(EMPTY_VECTOR))))).toBe('hello world');
    expect(textOf(first, answerIn(room.receive(b, step1(afterFirst))))).toBe('hello world');
    expect(room.isMaterialised).toBe(false);
    // The doc built later holds the same.
    expect(room.doc.getText('body').toString()).toBe('hello world');
    expect(Y.encodeStateVector(room.doc)).toEqual(Y.encodeStateVector(client));
    await room.unload(false);
  });

  it("takes each update's checked shape, appended or not: none is left for a full collection to free", async () => {
    const { room, a } = await loaded();
    const client = new Y.Doc();
    const appended = edit(client, 'hello');
    room.receive(a, checked(appended), 1);
    expect(room.isMaterialised).toBe(false);
    expect(takeCheckedAppendShape(appended)).toBeUndefined();
    // A room with its doc goes through Yjs, and still takes the shape.
    expect(room.doc.getText('body').toString()).toBe('hello');
    const integrated = edit(client, ' world', 5);
    room.receive(a, checked(integrated), 2);
    expect(room.isMaterialised).toBe(true);
    expect(takeCheckedAppendShape(integrated)).toBeUndefined();
    await room.unload(false);
  });

  it('goes through Yjs for an unchecked update, one that starts past the log, or one naming a struct the log lacks', async () => {
    // Not checked by the update guard: nothing says Yjs could read it.
    {
      const { room, a } = await loaded();
      room.receive(a, {
        type: YMessageType.Sync,
        step: SyncStep.Update,
        payload: edit(new Y.Doc(), 'x'),
      });
      expect(room.isMaterialised).toBe(true);
      await room.unload(false);
    }
    // Starts past the log's clock: Yjs holds it back, and the vector must not claim it.
    {
      const { room, a } = await loaded();
      const client = new Y.Doc();
      edit(client, 'abc');
      room.receive(a, checked(edit(client, 'd', 3)), 1);
      expect(room.isMaterialised).toBe(true);
      expect(room.stateVector()).toEqual(EMPTY_VECTOR);
      await room.unload(false);
    }
    // Names another client's struct the log does not hold (typed after text the room lacks).
    {
      const { room, a } = await loaded();
      const other = new Y.Doc();
      const client = new Y.Doc();
      Y.applyUpdate(client, edit(other, 'abc'));
      room.receive(a, checked(edit(client, 'X', 1)), 1);
      expect(room.isMaterialised).toBe(true);
      expect(room.stateVector()).toEqual(EMPTY_VECTOR);
      await room.unload(false);
    }
  });

  it('refuses an update whose item names a later clock of its own client, and never forwards it: the log stays loadable', async () => {
    // Client 7, clock 0: a string item whose origin is (7, 5), which Yjs looks
    // up without checking it exists, and throws.
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1); // clients
    encoding.writeVarUint(e, 1); // structs
    encoding.writeVarUint(e, 7); // client
    encoding.writeVarUint(e, 0); // clock
    encoding.writeUint8(e, 0x80 | 4); // has origin, string content
    encoding.writeVarUint(e, 7);
    encoding.writeVarUint(e, 5);
    encoding.writeVarString(e, 'a');
    encoding.writeVarUint(e, 0); // delete set: no clients
    const bad = encoding.toUint8Array(e);
    expect(() => Y.applyUpdate(new Y.Doc(), bad)).toThrow();
    // The session's update guard refuses it before any room sees it.
    expect(() => checkUpdate(bad)).toThrow(UpdateRejectedError);

    // Should one reach a room unchecked, Yjs refuses it there, and the
    // others never get the bytes (a room forwards before integrating only
    // what the guard walked).
    const { storage, room, a, b } = await loaded(2);
    expect(() =>
      room.receive(a, { type: YMessageType.Sync, step: SyncStep.Update, payload: bad }, 1),
    ).toThrow(ProtocolError);
    expect(b.sent).toEqual([]);
    const client = new Y.Doc();
    room.receive(b, checked(edit(client, 'fine')), 1);
    await room.flush();
    // Appended, the bad update would be in the log, and every load of it would throw.
    expect(textOf(...(await stored(storage)))).toBe('fine');
    await room.unload(false);
  });

  it('reports the durable state of a log filled by live appends when it unloads', async () => {
    const { room, durable, a } = await loaded();
    const client = new Y.Doc();
    room.receive(a, checked(edit(client, 'kept')), 1);
    await room.flush();
    expect(room.isMaterialised).toBe(false);
    room.leave(a);
    await room.unload(false);
    // The index's entry for the doc must not stay at the empty state it had at load.
    expect(durable.at(-1)).toEqual(Y.encodeStateVector(client));
  });

  it('compacts a log filled by live appends, keeping every edit, still without a doc', async () => {
    const { storage, room, a } = await loaded(1, 3);
    const client = new Y.Doc();
    let text = '';
    for (let i = 0; i < 10; i++) {
      room.receive(a, checked(edit(client, `${i}`, text.length)), i + 1);
      text += `${i}`;
      await room.flush();
    }
    expect(room.isMaterialised).toBe(false);
    const records = await stored(storage);
    expect(records.length).toBeLessThan(10);
    expect(textOf(...records)).toBe(text);
    // Later appends continue the compacted log.
    room.receive(a, checked(edit(client, '!', text.length)), 11);
    await room.flush();
    expect(room.isMaterialised).toBe(false);
    expect(textOf(...(await stored(storage)))).toBe(`${text}!`);
    expect(textOf(answerIn(room.receive(a, step1(EMPTY_VECTOR))))).toBe(`${text}!`);
    await room.unload(false);
  });
  it('appends a backspace too, but sends a deletion of something the log lacks through Yjs', async () => {
    const { storage, room, a, b } = await loaded(2);
    const client = new Y.Doc();
    room.receive(a, checked(edit(client, 'hello world')), 1);
    const backspace = removal(client, 5, 6);
    room.receive(a, checked(backspace), 2);
    expect(room.isMaterialised).toBe(false);
    expect(b.sent).toHaveLength(2);
    await room.flush();
    expect(a.acks.flatMap((ack) => ack.seqs)).toEqual([1, 2]);
    expect(textOf(...(await stored(storage)))).toBe('hello');
    expect(textOf(answerIn(room.receive(b, step1(EMPTY_VECTOR))))).toBe('hello');
    // A deletion of another client's text the log never saw: Yjs keeps it
    // pending, which only the doc can hold.
    const other = new Y.Doc();
    edit(other, 'unseen');
    room.receive(a, checked(removal(other, 0, 2)), 3);
    expect(room.isMaterialised).toBe(true);
    expect(room.doc.getText('body').toString()).toBe('hello');
    await room.unload(false);
  });

  it('compacts an appended log the way a doc would: deleted text is not kept', async () => {
    const { storage, room, a } = await loaded(1, 4);
    const client = new Y.Doc();
    room.receive(a, checked(edit(client, 'keep DROPPEDTEXT')), 1);
    await room.flush();
    room.receive(a, checked(removal(client, 4, 12)), 2);
    await room.flush();
    // Enough small appends to pass the compaction threshold and to fold the
    // appends kept apart at least once.
    let text = 'keep';
    for (let i = 0; i < 70; i++) {
      room.receive(a, checked(edit(client, 'x', text.length)), i + 3);
      text += 'x';
    }
    await room.flush();
    for (let i = 0; i < 5; i++) {
      room.receive(a, checked(edit(client, 'y', text.length)), i + 73);
      text += 'y';
      await room.flush();
    }
    expect(room.isMaterialised).toBe(false);
    const records = await stored(storage);
    expect(records.length).toBeLessThan(8);
    expect(textOf(...records)).toBe(text);
    const bytes = new TextDecoder().decode(Buffer.concat(records));
    expect(bytes).not.toContain('DROPPED');
    expect(textOf(answerIn(room.receive(a, step1(EMPTY_VECTOR))))).toBe(text);
    await room.unload(false);
  });
});
