import { describe, expect, it } from 'vitest';
import { decodeFrame, FrameType } from '../protocol.ts';
import { InboundAcks } from './InboundAcks.ts';

interface SentAck {
  docName: string;
  seq: number;
  stateVector: number[];
}

function recorder(): { acks: InboundAcks; sent: SentAck[] } {
  const sent: SentAck[] = [];
  const acks = new InboundAcks((data) => {
    const frame = decodeFrame(data);
    if (frame.type !== FrameType.Ack) throw new Error(`unexpected frame type ${frame.type}`);
    sent.push({ docName: frame.docName, seq: frame.seq, stateVector: [...frame.stateVector] });
  });
  return { acks, sent };
}

/** Lets the queued ack flush run. */
const flushed = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('InboundAcks', () => {
  it('acks only the contiguous prefix that both arrived and is durable, under reorder', async () => {
    const { acks, sent } = recorder();
    for (const seq of [3, 1, 2]) expect(acks.received('d', seq)).toBe('fresh');
    acks.durable('d', [3], new Uint8Array([1]));
    acks.durable('d', [2], new Uint8Array([2]));
    await flushed();
    // 1 is not durable yet: nothing above it may be acked.
    expect(sent).toEqual([]);

    acks.durable('d', [1], new Uint8Array([3]));
    await flushed();
    expect(sent).toEqual([{ docName: 'd', seq: 3, stateVector: [3] }]);
  });

  it('observes the ack latency of every acked message once, in order or not, and skips numbers far past the ack', async () => {
    const latencies: number[] = [];
    const acks = new InboundAcks(
      () => {},
      10_000,
      (seconds) => latencies.push(seconds),
    );
    const now = performance.now();
    // Arrived 1, 3, 2 (3 overtook 2) at 1, 3 and 2 s ago; one numbered far beyond.
    acks.received('d', 1, now - 1000);
    acks.received('d', 3, now - 3000);
    acks.received('d', 2, now - 2000);
    acks.received('d', 1e12, now - 9000);
    acks.durable('d', [1]);
    await flushed();
    acks.durable('d', [3, 2]);
    await flushed();
    expect(latencies.map(Math.floor)).toEqual([1, 2, 3]);
    // A duplicate of an acked message is not observed again; 4 never arrived.
    expect(acks.received('d', 2, now)).toBe('duplicate');
    acks.received('d', 5, now - 5000);
    acks.durable('d', [4, 5]);
    await flushed();
    expect(latencies).toHaveLength(3);
    acks.received('d', 4, now - 4000);
    acks.durable('d', [4]);
    await flushed();
    expect(latencies.map(Math.floor)).toEqual([1, 2, 3, 4, 5]);
  });

  it('does not ack a durable message that never arrived', async () => {
    const { acks, sent } = recorder();
    acks.received('d', 1);
    acks.durable('d', [1, 2], new Uint8Array([1]));
    await flushed();
    expect(sent).toEqual([{ docName: 'd', seq: 1, stateVector: [1] }]);

    acks.received('d', 2);
    acks.durable('d', [2], new Uint8Array([2]));
    await flushed();
    expect(sent).toEqual([
      { docName: 'd', seq: 1, stateVector: [1] },
      { docName: 'd', seq: 2, stateVector: [2] },
    ]);
  });

  it('reports duplicates, before and after they are acked, and does not count them twice', async () => {
    const { acks, sent } = recorder();
    expect(acks.received('d', 1)).toBe('fresh');
    expect(acks.received('d', 2)).toBe('fresh');
    expect(acks.received('d', 2)).toBe('duplicate');
    acks.durable('d', [1], new Uint8Array([1]));
    await flushed();
    expect(acks.received('d', 1)).toBe('duplicate');
    // A second durable report of an acked message changes nothing and sends nothing.
    acks.durable('d', [1], new Uint8Array([1]));
    await flushed();
    expect(sent).toEqual([{ docName: 'd', seq: 1, stateVector: [1] }]);
  });

  it('treats unnumbered messages as fresh and never tracks them', () => {
    const { acks } = recorder();
    expect(acks.received('d', 0)).toBe('fresh');
    expect(acks.received('d', 0)).toBe('fresh');
    expect(acks.maxSeen('d')).toBe(0);
  });

  it('tracks the highest number that arrived', () => {
    const { acks } = recorder();
    acks.received('d', 5);
    acks.received('d', 2);
    expect(acks.maxSeen('d')).toBe(5);
    expect(acks.maxSeen('other')).toBe(0);
  });

  it('reports overflow once too many messages wait above a gap', () => {
    const acks = new InboundAcks(() => {}, 2);
    expect(acks.received('d', 2)).toBe('fresh');
    expect(acks.received('d', 3)).toBe('fresh');
    expect(acks.received('d', 4)).toBe('overflow');
    // A duplicate is still recognised as such.
    expect(acks.received('d', 3)).toBe('duplicate');
  });

  it('does not count in-order messages waiting for their commit as held above a gap', async () => {
    // Issue 6: a burst of in-order updates arriving within one commit overflowed the bound.
    const sent: number[] = [];
    const acks = new InboundAcks((data) => {
      const frame = decodeFrame(data);
      if (frame.type === FrameType.Ack) sent.push(frame.seq);
    }, 2);
    for (let seq = 1; seq <= 100; seq++) expect(acks.received('d', seq)).toBe('fresh');
    // A gap: 102 and 103 are held above it; one more would overflow.
    expect(acks.received('d', 102)).toBe('fresh');
    expect(acks.received('d', 103)).toBe('fresh');
    expect(acks.received('d', 104)).toBe('overflow');
    // 101 closes the gap: 102 and 103 no longer count.
    expect(acks.received('d', 101)).toBe('fresh');
    expect(acks.received('d', 104)).toBe('fresh');
    expect(acks.received('d', 102)).toBe('duplicate');
    acks.durable(
      'd',
      Array.from({ length: 104 }, (_, i) => i + 1),
      new Uint8Array([1]),
    );
    await flushed();
    expect(sent).toEqual([104]);
  });

  it('sends one Ack per doc per microtask, with the latest number and state vector', async () => {
    const { acks, sent } = recorder();
    for (const seq of [1, 2, 3]) acks.received('a', seq);
    acks.received('b', 1);
    acks.durable('a', [1], new Uint8Array([1]));
    acks.durable('b', [1], new Uint8Array([7]));
    acks.durable('a', [2, 3], new Uint8Array([3]));
    expect(sent).toEqual([]);
    await Promise.resolve();
    expect(sent).toEqual([
      { docName: 'a', seq: 3, stateVector: [3] },
      { docName: 'b', seq: 1, stateVector: [7] },
    ]);
  });

  it('keeps the last reported state vector when none is given', async () => {
    const { acks, sent } = recorder();
    acks.received('d', 1);
    acks.received('d', 2);
    acks.durable('d', [1], new Uint8Array([9]));
    await flushed();
    acks.durable('d', [2]);
    await flushed();
    expect(sent).toEqual([
      { docName: 'd', seq: 1, stateVector: [9] },
      { docName: 'd', seq: 2, stateVector: [9] },
    ]);
  });

  it('starts from an empty state vector', async () => {
    const { acks, sent } = recorder();
    acks.received('d', 1);
    acks.durable('d', [1]);
    await flushed();
    expect(sent).toEqual([{ docName: 'd', seq: 1, stateVector: [0] }]);
  });
});

describe('InboundAcks, batched (the peer reads Acks frames)', () => {
  function batchedRecorder(batched: boolean) {
    const frames: ReturnType<typeof decodeFrame>[] = [];
    const acks = new InboundAcks(
      (data) => frames.push(decodeFrame(data)),
      undefined,
      undefined,
      () => batched,
    );
    return { acks, frames };
  }

  it('puts the acks of one turn in one Acks frame, each meaning what its Ack would', async () => {
    const { acks, frames } = batchedRecorder(true);
    for (const doc of ['a', 'b', 'c']) {
      acks.received(doc, 1);
      acks.received(doc, 2);
    }
    acks.durable('a', [1, 2], new Uint8Array([1]));
    acks.durable('b', [1], new Uint8Array([2]));
    // 'c': 2 durable, 1 not: nothing to ack for it yet.
    acks.durable('c', [2], new Uint8Array([3]));
    await flushed();
    expect(frames).toEqual([
      {
        type: FrameType.Acks,
        acks: [
          { docName: 'a', seq: 2, stateVector: new Uint8Array([1]) },
          { docName: 'b', seq: 1, stateVector: new Uint8Array([2]) },
        ],
      },
    ]);
  });

  it('sends a lone ack as a plain Ack, and only plain Acks to a peer that does not read Acks', async () => {
    const lone = batchedRecorder(true);
    lone.acks.received('a', 1);
    lone.acks.durable('a', [1], new Uint8Array([1]));
    await flushed();
    expect(lone.frames.map((f) => f.type)).toEqual([FrameType.Ack]);

    const plain = batchedRecorder(false);
    for (const doc of ['a', 'b']) {
      plain.acks.received(doc, 1);
      plain.acks.durable(doc, [1], new Uint8Array([1]));
    }
    await flushed();
    expect(plain.frames.map((f) => f.type)).toEqual([FrameType.Ack, FrameType.Ack]);
  });

  it('splits a very large turn into bounded frames without losing an ack', async () => {
    const { acks, frames } = batchedRecorder(true);
    const names = Array.from({ length: 6000 }, (_, i) => `workspace/${'x'.repeat(150)}/${i}`);
    for (const name of names) {
      acks.received(name, 1);
      acks.durable(name, [1], new Uint8Array(20));
    }
    await flushed();
    expect(frames.length).toBeGreaterThan(1);
    const acked = frames.flatMap((f) => (f.type === FrameType.Acks ? f.acks : []));
    expect(acked.map((a) => a.docName)).toEqual(names);
  });
});
