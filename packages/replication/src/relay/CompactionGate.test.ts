import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SyncStep, type YMessage, YMessageType } from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { CompactionGate } from './CompactionGate.ts';
import { Room } from './Room.ts';
import { edit, member, textOf } from './testing/roomMember.ts';
import { until } from './testing/until.ts';

describe('CompactionGate', () => {
  it('hands out at most `max` slots; each frees once, however often released', () => {
    const gate = new CompactionGate(2);
    const first = gate.tryEnter();
    const second = gate.tryEnter();
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(gate.tryEnter()).toBeUndefined();
    first?.();
    first?.();
    expect(gate.running).toBe(1);
    const third = gate.tryEnter();
    expect(third).toBeTypeOf('function');
    expect(gate.tryEnter()).toBeUndefined();
    second?.();
    third?.();
    expect(gate.running).toBe(0);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new CompactionGate(bad)).toThrow(/positive integer/);
    }
  });
});

/** Memory storage whose compactions wait until `release()`, and which counts them per doc. */
class HeldCompactions extends MemoryStorage {
  readonly compacted = new Map<string, number>();
  #held: Promise<void> | null = null;
  #open: () => void = () => {};

  hold(): void {
    this.#held = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#held = null;
    this.#open();
  }

  override async compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    this.compacted.set(docName, (this.compacted.get(docName) ?? 0) + 1);
    if (this.#held !== null) await this.#held;
    await super.compact(docName, snapshot, cursor);
  }
}

function update(payload: Uint8Array): YMessage {
  return { type: YMessageType.Sync, step: SyncStep.Update, payload };
}

describe('rooms sharing a CompactionGate', () => {
  it('a room over its threshold while every slot is taken commits and acks at once, and compacts after a later commit', async () => {
    const storage = new HeldCompactions();
    const gate = new CompactionGate(1);
    const rooms = ['w/a', 'w/b'].map(
      (name) =>
        new Room(name, {
          storage,
          commitWindowMs: 1,
          idleUnloadMs: 60_000,
          compactAfterUpdates: 2,
          compactionGate: gate,
          log: () => {},
          onUnloaded: () => {},
        }),
    );
    const [a, b] = rooms as [Room, Room];
    await Promise.all(rooms.map((r) => r.load()));
    const writerA = member();
    const writerB = member();
    a.join(writerA);
    b.join(writerB);
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    const type = async (room: Room, who: typeof writerA, doc: Y.Doc, text: string, seq: number) => {
      room.receive(who, update(edit(doc, text, doc.getText('body').length)), seq);
    };

    // Room a goes over its threshold first; its compaction holds the only slot
    // (and its commit, so no flush: wait for the compaction to start).
    storage.hold();
    for (let i = 1; i <= 3; i++) {
      await type(a, writerA, docA, `a${i}`, i);
      if (i < 3) await a.flush();
    }
    await until(() => storage.compacted.get('w/a') === 1);
    expect(gate.running).toBe(1);

    // Room b passes its threshold meanwhile: stored and acked, not compacted.
    for (let i = 1; i <= 3; i++) {
      await type(b, writerB, docB, `b${i}`, i);
      await b.flush();
    }
    expect(storage.compacted.get('w/b')).toBeUndefined();
    expect(writerB.acks.flatMap((ack) => ack.seqs)).toEqual([1, 2, 3]);

    // Once the slot is free, b's next commit compacts; nothing was lost anywhere.
    storage.release();
    await until(() => gate.running === 0);
    await type(b, writerB, docB, 'b4', 4);
    await b.flush();
    await until(() => storage.compacted.get('w/b') === 1);
    expect(gate.running).toBe(0);
    expect(textOf(...(await storage.load('w/a')).updates)).toBe('a1a2a3');
    expect(textOf(...(await storage.load('w/b')).updates)).toBe('b1b2b3b4');
    expect((await storage.load('w/b')).updates.length).toBeLessThan(4);
    await Promise.all(rooms.map((r) => r.unload(false)));
  });
});
