import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { RelayConnection } from './ports.ts';
import { encodeDocs, encodeSyncUpdate } from './protocol.ts';
import { ReplicaWorld, WORLD_RELAY_URL } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 4000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function textOf(update: Uint8Array, key = 'body'): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText(key).toString();
}

/** Counts the `update` events a doc emits (Yjs encodes one per changing transaction while anyone listens). */
function countUpdateEvents(doc: Y.Doc): { count: number } {
  const seen = { count: 0 };
  const emit = doc.emit.bind(doc);
  vi.spyOn(doc, 'emit').mockImplementation((name, args) => {
    if (name === 'update') seen.count++;
    emit(name, args);
  });
  return seen;
}

/** A relay holding `w/a`, a replica with it open, and a second replica (the writer) with it open too. */
async function openedByTwo() {
  const w = new ReplicaWorld();
  worlds.push(w);
  await w.seedRelay(['w/a']);
  const replica = w.replica();
  const handle = await replica.open('w/a');
  await replica.whenSynced();
  const writer = w.replica();
  const theirs = await writer.open('w/a');
  await writer.whenSynced();
  return { replica, handle, theirs };
}

describe('Replica: updates from elsewhere into a live doc', () => {
  it('applies a relay update without Yjs encoding an update event, and still stores it; local edits still emit', async () => {
    const { replica, handle, theirs } = await openedByTwo();
    const events = countUpdateEvents(handle.doc);
    theirs.doc.getText('body').insert(0, 'remote ');
    await eventually(
      () => handle.doc.getText('body').toString() === 'remote text of w/a',
      'the remote edit',
    );
    expect(events.count).toBe(0);
    await eventually(
      async () => textOf(await replica.readStored('w/a')) === 'remote text of w/a',
      'the remote edit stored',
    );

    handle.doc.getText('body').insert(0, 'local ');
    expect(events.count).toBe(1);
    await eventually(
      () => theirs.doc.getText('body').toString() === 'local remote text of w/a',
      'the local edit sent',
    );
    handle.release();
    theirs.release();
  });

  it('stores and sends a change an observer makes while a relay update applies', async () => {
    const { replica, handle, theirs } = await openedByTwo();
    // A local change in its own transaction, inside the relay update's observer calls.
    handle.doc.getText('body').observe((event) => {
      if (!event.transaction.local) handle.doc.getText('seen').insert(0, 'seen');
    });
    theirs.doc.getText('body').insert(0, 'remote ');
    await eventually(
      () => theirs.doc.getText('seen').toString() === 'seen',
      "the observer's change sent",
    );
    await eventually(async () => {
      const stored = await replica.readStored('w/a');
      return textOf(stored, 'seen') === 'seen' && textOf(stored) === 'remote text of w/a';
    }, "the observer's change and the relay update stored");
    handle.release();
    theirs.release();
  });

  it('stores an update held back for a missing dependency once the dependency comes', async () => {
    const w = new ReplicaWorld();
    worlds.push(w);
    // Frames injected toward the replica, as if the relay had sent them.
    let toReplica: RelayConnection | null = null;
    const url = `${WORLD_RELAY_URL}?inject`;
    w.network.addAcceptor(url, (conn) => {
      toReplica = conn;
      return w.relay.acceptMultiplexed(conn);
    });
    const replica = w.replica({ relays: [url] });
    const handle = await replica.open('w/p');
    await replica.whenSynced();

    const source = new Y.Doc();
    source.getText('body').insert(0, 'hello');
    const first = Y.encodeStateAsUpdate(source);
    const before = Y.encodeStateVector(source);
    source.getText('body').insert(5, ' world');
    const second = Y.encodeStateAsUpdate(source, before);
    const send = (update: Uint8Array) =>
      (toReplica as RelayConnection | null)?.send(
        encodeDocs([{ docName: 'w/p', message: encodeSyncUpdate(update) }]),
      );

    send(second);
    await eventually(() => handle.doc.store.pendingStructs !== null, 'the second update held back');
    send(first);
    await eventually(
      () => handle.doc.getText('body').toString() === 'hello world',
      'both updates applied',
    );
    await eventually(
      async () => textOf(await replica.readStored('w/p')) === 'hello world',
      'both updates stored',
    );
    handle.release();
  });
});
