import { describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import {
  decodeYMessage,
  encodeAwarenessMessage,
  ProtocolError,
  SyncStep,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { Room, type RoomOptions } from './Room.ts';
import { edit, member, type TestMember } from './testing/roomMember.ts';
import { until } from './testing/until.ts';
import { checkUpdate } from './updateGuard.ts';

const DOC = 'w1/n1';

interface Gate {
  release(): void;
}

/** A MemoryStorage that counts calls and can hold or fail appends. */
function instrumented(inner: StorageAdapter = new MemoryStorage()) {
  const calls = { load: 0, append: [] as number[], compact: 0 };
  let held: Promise<void> | undefined;
  let failures = 0;
  const storage: StorageAdapter = {
    load: (name) => {
      calls.load++;
      return inner.load(name);
    },
    append: async (name, updates) => {
      calls.append.push(updates.length);
      if (held !== undefined) await held;
      if (failures > 0) {
        failures--;
        throw new Error('disk full');
      }
      await inner.append(name, updates);
    },
    compact: (name, snapshot, cursor) => {
      calls.compact++;
      return inner.compact(name, snapshot, cursor);
    },
    list: (prefix) => inner.list(prefix),
    delete: (name) => inner.delete(name),
    getMeta: (key) => inner.getMeta(key),
    setMeta: (key, value) => inner.setMeta(key, value),
    close: () => inner.close(),
  };
  return {
    storage,
    inner,
    calls,
    hold(): Gate {
      let release = () => {};
      held = new Promise<void>((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
      return { release };
    },
    failNext(n: number) {
      failures = n;
    },
  };
}

function makeRoom(storage: StorageAdapter, options: Partial<RoomOptions> = {}) {
  const unloaded: Room[] = [];
  const events: string[] = [];
  const room = new Room(DOC, {
    storage,
    commitWindowMs: 2,
    idleUnloadMs: 60_000,
    compactAfterUpdates: 500,
    log: (event) => events.push(event),
    onUnloaded: (r) => unloaded.push(r),
    ...options,
  });
  return { room, unloaded, events };
}

/**
 * A loaded room over instrumented storage with member `a` joined; `join()`
 * adds more members, in order (what most tests start from).
 */
async function loadedRoom(options: Partial<RoomOptions> = {}) {
  const s = instrumented();
  const made = makeRoom(s.storage, options);
  await made.room.load();
  const join = (joining: TestMember = member()) => {
    made.room.join(joining);
    return joining;
  };
  return { ...made, s, a: join(), join };
}

/** A client's update as a session hands it on: checked by the update guard first. */
function update(payload: Uint8Array): YMessage {
  checkUpdate(payload);
  return unchecked(payload);
}

/** An update the guard did not see (the room must cope with it anyway). */
function unchecked(payload: Uint8Array): YMessage {
  return { type: YMessageType.Sync, step: SyncStep.Update, payload };
}

function text(doc: Y.Doc): string {
  return doc.getText('body').toString();
}

async function storedText(storage: StorageAdapter): Promise<string> {
  const doc = new Y.Doc();
  for (const u of (await storage.load(DOC)).updates) Y.applyUpdate(doc, u);
  return text(doc);
}

describe('Room', () => {
  it('loads stored updates once for concurrent callers', async () => {
    const s = instrumented();
    const client = new Y.Doc();
    await s.inner.append(DOC, [edit(client, 'world'), edit(client, 'hello ')]);
    const { room } = makeRoom(s.storage);
    await Promise.all([room.load(), room.load(), room.load()]);
    expect(s.calls.load).toBe(1);
    expect(text(room.doc)).toBe('hello world');
    expect(room.storedUpdates).toBe(2);
    await room.unload(false);
  });

  it('refuses to open when stored data is corrupt, and reports the unload', async () => {
    const s = instrumented();
    await s.inner.append(DOC, [new Uint8Array([200, 1, 2, 3, 4, 5])]);
    const { room, unloaded, events } = makeRoom(s.storage);
    await expect(room.load()).rejects.toThrow(/stored updates of w1\/n1 are corrupt/);
    expect(room.isUsable).toBe(false);
    expect(unloaded).toEqual([room]);
    expect(events).toContain('room.load_failed');
  });

  it('forwards updates to the other members only and answers SyncStep1 with what is missing', async () => {
    const { room, a, join } = await loadedRoom();
    const b = join();
    const client = new Y.Doc();
    expect(room.receive(a, update(edit(client, 'abc')))).toEqual([]);
    expect(a.sent).toEqual([]);
    expect(b.sent).toHaveLength(1);
    const forwarded = b.sent[0]!;
    expect(forwarded.type === YMessageType.Sync && forwarded.step).toBe(SyncStep.Update);

    const empty = new Y.Doc();
    const [reply] = room.receive(b, {
      type: YMessageType.Sync,
      step: SyncStep.Step1,
      payload: Y.encodeStateVector(empty),
    });
    const decoded = decodeYMessage(reply!);
    if (decoded.type !== YMessageType.Sync) throw new Error('expected a sync message');
    expect(decoded.step).toBe(SyncStep.Step2);
    Y.applyUpdate(empty, decoded.payload);
    expect(text(empty)).toBe('abc');
    await room.unload(false);
  });

  it('group-commits a burst into one append and acks only after it is durable', async () => {
    const { room, a, s } = await loadedRoom({ commitWindowMs: 5 });
    const client = new Y.Doc();
    const gate = s.hold();
    for (let i = 1; i <= 20; i++) room.receive(a, update(edit(client, `${i},`)), i);
    await until(() => s.calls.append.length === 1);
    expect(s.calls.append).toEqual([20]);
    expect(a.acks).toEqual([]);
    // Arrives while the append is in flight: its ack must wait for its own commit.
    room.receive(a, update(edit(client, 'late')), 21);
    gate.release();
    await until(() => a.acks.length === 2);
    // One call per commit, naming every message it made durable.
    expect(a.acks.map((x) => x.seqs)).toEqual([Array.from({ length: 20 }, (_, i) => i + 1), [21]]);
    expect(s.calls.append).toEqual([20, 1]);
    expect(Y.decodeStateVector(a.acks[1]!.stateVector)).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(client)),
    );
    expect(await storedText(s.inner)).toBe(text(client));
    await room.unload(false);
  });

  it('acks a message without news at once, or behind the pending batch', async () => {
    const { room, a, s } = await loadedRoom({ commitWindowMs: 5 });
    const empty = Y.encodeStateAsUpdate(new Y.Doc());
    room.receive(a, { type: YMessageType.Sync, step: SyncStep.Step2, payload: empty }, 1);
    expect(a.acks.map((x) => x.seqs)).toEqual([[1]]);
    expect(s.calls.append).toEqual([]);

    const client = new Y.Doc();
    room.receive(a, update(edit(client, 'x')), 2);
    room.receive(a, { type: YMessageType.Sync, step: SyncStep.Step2, payload: empty }, 3);
    expect(a.acks.map((x) => x.seqs)).toEqual([[1]]);
    await until(() => a.acks.length === 2);
    expect(a.acks.map((x) => x.seqs)).toEqual([[1], [2, 3]]);
    expect(s.calls.append).toEqual([1]);
    await room.unload(false);
  });

  it('stores and acks an update whose dependencies have not arrived', async () => {
    const { room, a, s } = await loadedRoom();
    const client = new Y.Doc();
    edit(client, 'first');
    const second = edit(client, 'second ');
    room.receive(a, update(second), 1);
    await until(() => a.acks.length === 1);
    expect(text(room.doc)).toBe('');
    expect((await s.inner.load(DOC)).updates).toHaveLength(1);
    await room.unload(false);
  });

  it('echoes to the sender what its update released from other senders', async () => {
    const { room, a: x, join } = await loadedRoom();
    const y = join();
    const author = new Y.Doc();
    const first = edit(author, 'first');
    const second = edit(author, ' second', 5);
    room.receive(y, update(second), 1);
    expect(x.sent).toEqual([]);
    room.receive(x, update(first), 1);
    const seenByX = new Y.Doc();
    Y.applyUpdate(seenByX, first);
    for (const m of x.sent) if (m.type === YMessageType.Sync) Y.applyUpdate(seenByX, m.payload);
    expect(text(seenByX)).toBe('first second');
    expect(text(room.doc)).toBe('first second');
    await room.unload(false);
  });

  it('retries a failed append and acks only once it succeeded', async () => {
    const { room, events, a, s } = await loadedRoom({ commitWindowMs: 1 });
    s.failNext(2);
    const client = new Y.Doc();
    room.receive(a, update(edit(client, 'keep me')), 1);
    await until(() => a.acks.length === 1);
    expect(events.filter((e) => e === 'room.commit_failed')).toHaveLength(2);
    expect(s.calls.append).toEqual([1, 1, 1]);
    expect(await storedText(s.inner)).toBe('keep me');
    await room.unload(false);
  });

  it('rejects a malformed update with ProtocolError and keeps working', async () => {
    const { room, a } = await loadedRoom();
    expect(() => room.receive(a, update(new Uint8Array([0xff, 0xff, 0xff, 0x0f])), 1)).toThrow(
      ProtocolError,
    );
    expect(() =>
      room.receive(a, { type: YMessageType.Awareness, update: new Uint8Array([1, 5]) }),
    ).toThrow(ProtocolError);
    const client = new Y.Doc();
    room.receive(a, update(edit(client, 'fine')), 2);
    expect(text(room.doc)).toBe('fine');
    await room.unload(false);
  });

  it('tracks awareness per member and removes it when the member leaves', async () => {
    const { room, a, join } = await loadedRoom();
    const b = join();
    expect(room.awarenessStates()).toBeUndefined();
    const clientDoc = new Y.Doc();
    const aw = new awarenessProtocol.Awareness(clientDoc);
    aw.setLocalState({ user: 'ada' });
    const msg = decodeYMessage(
      encodeAwarenessMessage(awarenessProtocol.encodeAwarenessUpdate(aw, [clientDoc.clientID])),
    );
    room.receive(a, msg);
    expect(a.sent).toEqual([]);
    expect(b.sent.map((m) => m.type)).toEqual([YMessageType.Awareness]);

    const observer = new awarenessProtocol.Awareness(new Y.Doc());
    const states = decodeYMessage(room.awarenessStates()!);
    if (states.type !== YMessageType.Awareness) throw new Error('expected awareness');
    awarenessProtocol.applyAwarenessUpdate(observer, states.update, 'test');
    expect(observer.getStates().get(clientDoc.clientID)).toEqual({ user: 'ada' });

    const [queried] = room.receive(b, { type: YMessageType.QueryAwareness });
    expect(decodeYMessage(queried!).type).toBe(YMessageType.Awareness);

    room.leave(a);
    expect(b.sent).toHaveLength(2);
    const removal = b.sent[1]!;
    if (removal.type !== YMessageType.Awareness) throw new Error('expected awareness');
    awarenessProtocol.applyAwarenessUpdate(observer, removal.update, 'test');
    expect(observer.getStates().has(clientDoc.clientID)).toBe(false);
    expect(room.awarenessStates()).toBeUndefined();
    aw.destroy();
    observer.destroy();
    await room.unload(false);
  });

  it('compacts the log once it exceeds the threshold, keeping every edit', async () => {
    const { room, a, s } = await loadedRoom({ compactAfterUpdates: 5, commitWindowMs: 0 });
    const client = new Y.Doc();
    for (let i = 0; i < 6; i++) {
      room.receive(a, update(edit(client, `${i}`)), i + 1);
      await until(() => a.acks.length === i + 1);
    }
    await until(() => s.calls.compact === 1);
    await room.flush();
    expect((await s.inner.load(DOC)).updates.length).toBeLessThanOrEqual(2);
    expect(await storedText(s.inner)).toBe(text(client));
    await room.unload(false);
  });

  it('unloads when idle, flushing and compacting first', async () => {
    const { room, unloaded, a, s } = await loadedRoom({ idleUnloadMs: 20, commitWindowMs: 50 });
    const client = new Y.Doc();
    room.receive(a, update(edit(client, 'one ')), 1);
    room.receive(a, update(edit(client, 'two ')), 2);
    await until(() => s.calls.append.length === 1);
    room.receive(a, update(edit(client, 'three')), 3);
    room.leave(a);
    expect(room.isOpen).toBe(true);
    await until(() => unloaded.length === 1);
    expect(room.isUsable).toBe(false);
    expect(s.calls.compact).toBe(1);
    const stored = await s.inner.load(DOC);
    expect(stored.updates).toHaveLength(1);
    expect(await storedText(s.inner)).toBe(text(client));
    expect(() => room.join(member())).toThrow(/not open/);
  });

  // A client's update is forwarded as received and integrated without the
  // doc's update event (Room#applyUpdate): whether to store it is read from
  // the transaction, so a repeat must not be stored and a delete-only update must.
  it('stores forwarded updates only when they change the doc, deletions included', async () => {
    const { room, a, join, s } = await loadedRoom({ commitWindowMs: 0 });
    const b = join();
    const client = new Y.Doc();
    const typed = edit(client, 'hello');
    room.receive(a, update(typed), 1);
    await until(() => a.acks.length === 1);
    room.receive(a, update(typed), 2);
    await until(() => a.acks.length === 2);
    expect(s.calls.append).toEqual([1]);

    const before = Y.encodeStateVector(client);
    client.getText('body').delete(0, 2);
    const deletion = Y.encodeStateAsUpdate(client, before);
    room.receive(a, update(deletion), 3);
    await until(() => a.acks.length === 3);
    room.receive(a, update(deletion), 4);
    await until(() => a.acks.length === 4);
    expect(s.calls.append).toEqual([1, 1]);
    expect(text(room.doc)).toBe('llo');
    expect(await storedText(s.inner)).toBe('llo');
    // b got every update as received, repeats too (receivers ignore them).
    expect(b.sent.filter((m) => m.type === YMessageType.Sync)).toHaveLength(4);
    await room.unload(false);
  });

  it('stores what a forwarded update applied before Yjs failed halfway', async () => {
    const { room, a, join, s } = await loadedRoom({ commitWindowMs: 0 });
    const b = join();
    const client = new Y.Doc();
    const good = edit(client, 'abc');
    // The structs integrate, then the truncated delete set throws (the session's
    // update guard refuses this before it gets here; the room must cope anyway).
    const bad = new Uint8Array([...good.subarray(0, good.length - 1), 1, 5, 0xff]);
    expect(() => room.receive(a, unchecked(bad), 1)).toThrow(/could not be applied/);
    expect(text(room.doc)).toBe('abc');
    expect(b.sent).toHaveLength(1);
    await room.flush();
    expect(await storedText(s.inner)).toBe('abc');
    // The doc still emits updates afterwards: a peer's update reaches the members.
    const peer: TestMember = { ...member(), peer: true };
    room.join(peer);
    room.receive(peer, update(edit(client, 'x', 3)));
    expect(b.sent).toHaveLength(2);
    expect(text(room.doc)).toBe('abcx');
    await room.unload(false);
  });

  // The doc's update handler is attached only around updates that are not
  // forwarded as received: left on, a later client update would reach the
  // members twice (forwarded, then again from the doc's event); left off, a
  // peer's update would reach nobody and not be stored.
  it('sends each update once, whether it came from a client or a peer relay', async () => {
    const { room, a, join, s } = await loadedRoom({ commitWindowMs: 0 });
    const b = join();
    const peer = join({ ...member(), peer: true });
    const client = new Y.Doc();
    const remote = new Y.Doc();
    room.receive(a, update(edit(client, 'one')), 1);
    expect(b.sent).toHaveLength(1);
    expect(peer.sent).toHaveLength(1);
    room.receive(peer, update(edit(remote, 'two')));
    expect(a.sent).toHaveLength(1);
    expect(b.sent).toHaveLength(2);
    room.receive(a, update(edit(client, '!', 3)), 2);
    room.receive(peer, update(edit(remote, '?', 3)));
    expect(a.sent).toHaveLength(2);
    expect(b.sent).toHaveLength(4);
    expect(peer.sent).toHaveLength(2);
    await room.flush();
    expect(text(room.doc)).toHaveLength(8);
    expect(await storedText(s.inner)).toBe(text(room.doc));
    await room.unload(false);
  });

  it('stays loaded while a member is present', async () => {
    // Member `a` joined by `loadedRoom`.
    const { room, unloaded } = await loadedRoom({ idleUnloadMs: 5 });
    await new Promise((r) => setTimeout(r, 30));
    expect(unloaded).toEqual([]);
    expect(room.isOpen).toBe(true);
    await room.unload(false);
  });
});
