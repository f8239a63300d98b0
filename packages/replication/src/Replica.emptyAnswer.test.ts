import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { decodeFrame, FrameType, SyncStep, YMessageType } from './protocol.ts';
import { textOf } from './relay/testing/roomMember.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { docMessagesIn } from './testing/docMessagesIn.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

/** Counts, per doc, the step 2 answers replicas send; and the acks the relay sends, and in how many frames. */
function world(): {
  w: ReplicaWorld;
  answers: Map<string, number>;
  acks: () => { acks: number; frames: number };
} {
  const answers = new Map<string, number>();
  const acks = { acks: 0, frames: 0 };
  const w = new ReplicaWorld({
    observe: (frame, direction) => {
      if (direction === 'down') {
        const decoded = decodeFrame(frame);
        if (decoded.type === FrameType.Ack) acks.acks++;
        else if (decoded.type === FrameType.Acks) acks.acks += decoded.acks.length;
        else return;
        acks.frames++;
        return;
      }
      for (const { docName, message } of docMessagesIn(frame)) {
        if (message[0] === YMessageType.Sync && message[1] === SyncStep.Step2) {
          answers.set(docName, (answers.get(docName) ?? 0) + 1);
        }
      }
    },
  });
  worlds.push(w);
  return { w, answers, acks: () => ({ ...acks }) };
}

describe('Replica: answers to the relay step 1', () => {
  const names = Array.from({ length: 20 }, (_, i) => `w/n${i}`);

  it('a fresh device sends no empty answers for background docs, and each doc costs one ack, batched', async () => {
    const { w, answers, acks } = world();
    await w.seedRelay(names);
    const replica = w.replica();
    for (const name of names) replica.track(name);
    await replica.whenSynced();
    expect(replica.progress).toEqual({ synced: names.length, total: names.length });
    for (const name of names)
      expect(textOf(await replica.readStored(name))).toBe(`text of ${name}`);
    // One step 1 out, one ack back per doc, the acks of a turn in one frame;
    // no answer (and no ack of one).
    expect([...answers.keys()]).toEqual([]);
    expect(acks().acks).toBe(names.length);
    expect(acks().frames).toBeLessThanOrEqual(2);
  });

  it('still answers a doc the relay lacks changes of, and a doc with unacked changes', async () => {
    const { w, answers } = world();
    await w.seedRelay(names.slice(0, 2));
    const storage = new MemoryStorage();
    // The device holds a change the relay never saw (written while offline).
    const local = new Y.Doc();
    local.getText('body').insert(0, 'offline text');
    await storage.append('w/n0', [Y.encodeStateAsUpdate(local)]);
    const replica = w.replica({ storage });
    replica.track('w/n0');
    replica.track('w/n1');
    await replica.whenSynced();
    expect(answers.get('w/n0')).toBe(1);
    expect(answers.has('w/n1')).toBe(false);
    const relayHeld = textOf(Y.mergeUpdates((await w.relayStorage.load('w/n0')).updates));
    expect(relayHeld).toContain('offline text');
    expect(relayHeld).toContain('text of w/n0');
  });

  it('an open doc answers only when it holds something the relay lacks', async () => {
    const { w, answers } = world();
    await w.seedRelay(['w/open', 'w/typed']);
    const replica = w.replica();
    const open = await replica.open('w/open');
    const typed = await replica.open('w/typed');
    typed.doc.getText('body').insert(0, 'typed here ');
    await replica.whenSynced();
    expect(open.doc.getText('body').toString()).toBe('text of w/open');
    expect(answers.has('w/open')).toBe(false);
    expect(answers.get('w/typed')).toBe(1);
    const relayHeld = textOf(Y.mergeUpdates((await w.relayStorage.load('w/typed')).updates));
    expect(relayHeld).toContain('typed here');
    open.release();
    typed.release();
  });

  it('a returning device whose docs the relay holds finishes the exchange without answers', async () => {
    const { w, answers } = world();
    await w.seedRelay(names);
    const storage = new MemoryStorage();
    const first = w.replica({ storage });
    for (const name of names) first.track(name);
    await first.whenSynced();
    await first.destroy();
    answers.clear();
    const again = w.replica({ storage });
    for (const name of names) again.track(name);
    await again.whenSynced();
    expect(again.progress).toEqual({ synced: names.length, total: names.length });
    expect([...answers.keys()]).toEqual([]);
  });
});

describe('Replica: announcing docs', () => {
  it('subscribes docs whose stored state it knows in the same turn: the frame leaves before work queued after', async () => {
    const order: string[] = [];
    const w = new ReplicaWorld({
      observe: (frame, direction) => {
        if (direction !== 'up') return;
        for (const { docName, message } of docMessagesIn(frame)) {
          if (message[0] === YMessageType.Sync && message[1] === SyncStep.Step1) {
            order.push(`step1 ${docName}`);
          }
        }
      },
    });
    worlds.push(w);
    await w.seedRelay(['w/a', 'w/b']);
    const replica = w.replica();
    replica.track('w/warm-up');
    await replica.whenSynced();
    order.length = 0;
    replica.track('w/a');
    replica.track('w/b');
    // A list re-render, say, queued by the change that named the docs.
    queueMicrotask(() => order.push('later work'));
    await replica.whenSynced();
    expect(order).toEqual(['step1 w/a', 'step1 w/b', 'later work']);
    expect(textOf(await replica.readStored('w/b'))).toBe('text of w/b');
  });
});
