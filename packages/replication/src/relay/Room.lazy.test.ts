import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import {
  decodeYMessage,
  encodeAwarenessMessage,
  SyncStep,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { Room } from './Room.ts';
import { roomContains } from './roomContains.ts';
import { edit, member, step1, type TestMember, textOf } from './testing/roomMember.ts';
import { until } from './testing/until.ts';

// A room answers a subscriber's SyncStep1 from the stored log and builds its
// Y.Doc only when something needs the doc's content (bench/README.md, "Cold
// load", fourth round). These pin what must not change while it has no doc.

const DOC = 'w1/n1';
const EMPTY_VECTOR = new Uint8Array([0]);
const EMPTY_UPDATE = new Uint8Array([0, 0]);

function makeRoom(storage: StorageAdapter, durableVector?: Uint8Array) {
  const durable: Uint8Array[] = [];
  /** `onDurableChanged` calls: as in the relay, the index reads the state when it needs it. */
  const changed: Room[] = [];
  const room = new Room(DOC, {
    storage,
    commitWindowMs: 2,
    idleUnloadMs: 60_000,
    compactAfterUpdates: 500,
    durableVector: () => durableVector,
    log: () => {},
    onUnloaded: () => {},
    onDurable: (_room, _fingerprint, stateVector) => durable.push(stateVector),
    onDurableChanged: (r) => changed.push(r),
  });
  return { room, durable, changed };
}

function step2(payload: Uint8Array): YMessage {
  return { type: YMessageType.Sync, step: SyncStep.Step2, payload };
}

/** The payload of the SyncStep2 among `replies`. */
function answerIn(replies: Uint8Array[]): Uint8Array {
  for (const reply of replies) {
    const message = decodeYMessage(reply);
    if (message.type === YMessageType.Sync && message.step === SyncStep.Step2) {
      return message.payload;
    }
  }
  throw new Error('no SyncStep2 in the replies');
}

async function storedText(storage: StorageAdapter): Promise<string> {
  return textOf(...(await storage.load(DOC)).updates);
}

describe('Room without a doc until one is needed', () => {
  it("answers a fresh subscriber's SyncStep1 and empty reply from the stored log, without building the doc", async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'world'), edit(client, 'hello ')]);
    const { room, durable } = makeRoom(storage);
    await room.load();
    const m = member();
    room.join(m);

    const answer = answerIn(room.receive(m, step1(EMPTY_VECTOR), 1));
    expect(textOf(answer)).toBe('hello world');
    // The room's vector is the stored state's: what the subscriber's reply is computed against.
    expect(Y.decodeStateVector(room.stateVector())).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(client)),
    );
    const ours = decodeYMessage(room.syncStep1());
    expect(ours.type === YMessageType.Sync && ours.payload).toEqual(room.stateVector());

    expect(room.receive(m, step2(EMPTY_UPDATE), 2)).toEqual([]);
    // Nothing was pending: both are acked at once, with the stored state vector.
    expect(m.acks.map((a) => a.seqs)).toEqual([[1], [2]]);
    expect(m.acks[1]?.stateVector).toEqual(room.stateVector());
    // The read-only check of an empty reply needs no doc either.
    expect(roomContains(room, EMPTY_UPDATE)).toBe(true);
    expect(room.isMaterialised).toBe(false);
    // Its durable state was not reported: it is what storage (and the index) holds.
    expect(durable).toEqual([]);
    await room.unload(false);
  });

  it('answers a non-empty state vector with exactly what it lacks, from a log of several records', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    const first = edit(client, 'abc');
    await storage.append(DOC, [first, edit(client, 'def', 3), edit(client, 'XY', 1)]);
    client.getText('body').delete(0, 1);
    await storage.append(DOC, [Y.encodeStateAsUpdate(client, Y.encodeStateVector(client))]);
    await storage.append(DOC, [Y.encodeStateAsUpdate(client)]);
    const { room } = makeRoom(storage);
    await room.load();
    const m = member();
    room.join(m);
    const peer = new Y.Doc();
    Y.applyUpdate(peer, first);
    const answer = answerIn(room.receive(m, step1(Y.encodeStateVector(peer))));
    Y.applyUpdate(peer, answer);
    expect(peer.getText('body').toString()).toBe(client.getText('body').toString());
    // Only what the peer lacked: none of the structs it had.
    expect(Y.parseUpdateMeta(answer).from.get(client.clientID)).toBe(3);
    expect(room.isMaterialised).toBe(false);
    await room.unload(false);
  });

  it('answers a subscriber that holds every struct with the delete set alone, also past a gap in the log', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    const u1 = edit(client, 'abc');
    const u2 = edit(client, 'de', 3);
    const u3 = edit(client, 'fgh', 5);
    client.getText('body').delete(0, 1);
    const deletion = Y.encodeStateAsUpdate(client, Y.encodeStateVector(client));
    // `u2` never reached the relay: `u3` waits for it, past the gap in the log.
    await storage.append(DOC, [u1, u3, deletion]);
    const { room } = makeRoom(storage);
    await room.load();
    const m = member();
    room.join(m);

    // Holds every struct but not the deletion: the delete set is the whole answer, each time.
    const current = new Y.Doc();
    for (const u of [u1, u2, u3]) Y.applyUpdate(current, u);
    const answer = answerIn(room.receive(m, step1(Y.encodeStateVector(current))));
    expect(Y.parseUpdateMeta(answer).from.size).toBe(0);
    Y.applyUpdate(current, answer);
    expect(current.getText('body').toString()).toBe('bcdefgh');
    expect(answerIn(room.receive(m, step1(Y.encodeStateVector(current))))).toEqual(answer);

    // Holds u1 and u2: its vector covers the room's (up to the gap), not u3, so
    // the delete-set answer above is not its answer.
    const behind = new Y.Doc();
    Y.applyUpdate(behind, u1);
    Y.applyUpdate(behind, u2);
    Y.applyUpdate(behind, answerIn(room.receive(m, step1(Y.encodeStateVector(behind)))));
    expect(behind.getText('body').toString()).toBe('bcdefgh');
    expect(room.isMaterialised).toBe(false);
    await room.unload(false);
  });

  it('builds the doc for the first real update: integrated, forwarded, stored and acked after commit', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'hello')]);
    const { room, durable } = makeRoom(storage);
    await room.load();
    const a = member();
    const b = member();
    room.join(a);
    room.join(b);
    room.receive(a, step1(EMPTY_VECTOR), 1);
    expect(room.isMaterialised).toBe(false);

    room.receive(a, step2(edit(client, ' world', 5)), 2);
    expect(room.isMaterialised).toBe(true);
    // Materialising reported the durable state the index would have taken at load before.
    expect(durable).toHaveLength(1);
    expect(room.doc.getText('body').toString()).toBe('hello world');
    expect(b.sent.map((s) => s.type)).toEqual([YMessageType.Sync]);
    await until(() => a.acks.some((ack) => ack.seqs.includes(2)));
    expect(await storedText(storage)).toBe('hello world');
    // A later subscriber's answer comes from the doc now, and carries the new edit.
    expect(textOf(answerIn(room.receive(b, step1(EMPTY_VECTOR))))).toBe('hello world');
    await room.unload(false);
  });

  it("builds the doc for a peer relay's sync, so its durable state is reported (a stale index entry gets corrected)", async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'gossip')]);
    const { room, durable } = makeRoom(storage);
    await room.load();
    const peer: TestMember = { ...member(), peer: true };
    room.join(peer);
    room.receive(peer, step1(EMPTY_VECTOR));
    expect(room.isMaterialised).toBe(true);
    expect(durable).toEqual([Y.encodeStateVector(client)]);
    await room.unload(false);
  });

  it("reports a lazy room's durable state when the index asks, from the doc built then", async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'abc'), edit(client, 'def', 3)]);
    const { room, durable, changed } = makeRoom(storage, new Uint8Array([0]));
    await room.load();
    // The index may hold a stale record (a crash before it was written): it is told to ask.
    expect(changed).toEqual([room]);
    expect(durable).toEqual([]);
    expect(room.reportDurable()).toBe(true);
    expect(room.isMaterialised).toBe(true);
    // What storage holds, not the (stale, empty) vector the room was given.
    expect(durable).toEqual([Y.encodeStateVector(client)]);
    await room.unload(false);
  });

  it('reading `doc` builds it from the stored log', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'stored')]);
    const { room } = makeRoom(storage);
    await room.load();
    expect(room.isMaterialised).toBe(false);
    expect(room.doc.getText('body').toString()).toBe('stored');
    expect(room.isMaterialised).toBe(true);
    await room.unload(false);
  });

  it('compacting on unload keeps every record of a room that never built its doc', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'one '), edit(client, 'two ', 4)]);
    await storage.append(DOC, [edit(client, 'three', 8)]);
    const { room } = makeRoom(storage);
    await room.load();
    const m = member();
    room.join(m);
    room.receive(m, step1(EMPTY_VECTOR), 1);
    room.leave(m);
    // A snapshot encoded from a doc that was never built would be empty and replace all three.
    await room.unload(true);
    const stored = await storage.load(DOC);
    expect(stored.updates).toHaveLength(1);
    expect(await storedText(storage)).toBe('one two three');
  });

  it('holds structs waiting for a missing dependency, answers with them, and integrates once it arrives', async () => {
    const storage = new MemoryStorage();
    const a = new Y.Doc();
    const first = edit(a, 'base');
    const b = new Y.Doc();
    Y.applyUpdate(b, first);
    const dependent = edit(b, '+b', 4);
    // The relay stored the dependent update before the one it builds on (it arrived first).
    await storage.append(DOC, [dependent]);
    const { room } = makeRoom(storage);
    await room.load();
    const m = member();
    room.join(m);
    const answer = answerIn(room.receive(m, step1(EMPTY_VECTOR)));
    // A subscriber that already has `first` gets the held-back structs and can apply them.
    const reader = new Y.Doc();
    Y.applyUpdate(reader, first);
    Y.applyUpdate(reader, answer);
    expect(reader.getText('body').toString()).toBe('base+b');
    // The room's vector does not claim `first`: a writer holding it sends it.
    expect(Y.decodeStateVector(room.stateVector()).get(a.clientID)).toBeUndefined();
    room.receive(m, step2(first), 2);
    expect(room.doc.getText('body').toString()).toBe('base+b');
    await until(() => m.acks.some((ack) => ack.seqs.includes(2)));
    expect(await storedText(storage)).toBe('base+b');
    await room.unload(false);
  });

  it('relays awareness between members without building the doc', async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    await storage.append(DOC, [edit(client, 'x')]);
    const { room } = makeRoom(storage);
    await room.load();
    const a = member();
    const b = member();
    room.join(a);
    room.join(b);
    expect(room.awarenessStates()).toBeUndefined();
    const presence = new awarenessProtocol.Awareness(new Y.Doc());
    presence.setLocalState({ name: 'Ada' });
    const message = decodeYMessage(
      encodeAwarenessMessage(
        awarenessProtocol.encodeAwarenessUpdate(presence, [presence.clientID]),
      ),
    );
    room.receive(a, message);
    expect(b.sent.map((s) => s.type)).toEqual([YMessageType.Awareness]);
    expect(room.awarenessStates()).toBeDefined();
    // Leaving removes the state it controlled, for the others.
    room.leave(a);
    expect(b.sent.map((s) => s.type)).toEqual([YMessageType.Awareness, YMessageType.Awareness]);
    expect(room.isMaterialised).toBe(false);
    presence.destroy();
    room.leave(b);
    await room.unload(false);
  });

  it("announces the index's durable vector; one that lags storage only makes a writer resend what the room has", async () => {
    const storage = new MemoryStorage();
    const client = new Y.Doc();
    const first = edit(client, 'one');
    const indexed = Y.encodeStateVector(client);
    // Stored after the index last took the doc's state (a crash before its `fp:` record).
    const second = edit(client, ' two', 3);
    await storage.append(DOC, [first, second]);
    const { room } = makeRoom(storage, indexed);
    await room.load();
    const m = member();
    room.join(m);
    const announced = decodeYMessage(room.syncStep1());
    expect(announced.type === YMessageType.Sync && announced.payload).toEqual(indexed);
    expect(textOf(answerIn(room.receive(m, step1(EMPTY_VECTOR), 1)))).toBe('one two');
    // The writer holds `second` and the room's vector does not name it: it is sent again.
    room.receive(m, step2(Y.encodeStateAsUpdate(client, indexed)), 2);
    await until(() => m.acks.some((ack) => ack.seqs.includes(2)));
    // Nothing new: not stored again, and the ack carries the full durable vector.
    expect((await storage.load(DOC)).updates).toHaveLength(2);
    expect(m.acks.find((ack) => ack.seqs.includes(2))?.stateVector).toEqual(
      Y.encodeStateVector(client),
    );
    await room.unload(false);
  });

  it('still refuses stored data that cannot be read, at load', async () => {
    const storage = new MemoryStorage();
    await storage.append(DOC, [new Uint8Array([200, 1, 2, 3, 4, 5])]);
    const { room } = makeRoom(storage);
    await expect(room.load()).rejects.toThrow(/stored updates of w1\/n1 are corrupt/);
  });
});
