import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addToLocalBatch,
  encodeLocalBatch,
  type LocalBatch,
  startLocalBatch,
} from './localBatch.ts';

const REMOTE = Symbol('remote');

type Op = { kind: 'local' | 'remote'; pos: number; del: number; ins: string; seal: boolean };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<'local' | 'remote'>('local', 'local', 'local', 'remote'),
  pos: fc.nat(200),
  del: fc.nat(4),
  ins: fc.string({ maxLength: 3 }),
  seal: fc.boolean(),
});

function edit(text: Y.Text, op: Op): void {
  const pos = Math.min(op.pos, text.length);
  const del = Math.min(op.del, text.length - pos);
  if (del > 0) text.delete(pos, del);
  if (op.ins.length > 0) text.insert(pos, op.ins);
}

/**
 * Replays `ops` on a local doc (remote ops come from a second doc), cutting
 * local transactions into batches; every batch's fast encoding must say
 * exactly what merging its updates says, to a receiver that has everything
 * before it.
 */
function check(ops: Op[]): { fast: number; batches: number } {
  const local = new Y.Doc();
  const remote = new Y.Doc();
  const receiverFast = new Y.Doc();
  const receiverMerged = new Y.Doc();
  let batch: LocalBatch | null = null;
  let updates: Uint8Array[] = [];
  let fast = 0;
  let batches = 0;
  const seal = () => {
    if (batch === null) return;
    const encoded = encodeLocalBatch(batch);
    const merged = Y.mergeUpdates(updates);
    if (encoded !== null) fast++;
    batches++;
    Y.applyUpdate(receiverFast, encoded ?? merged);
    Y.applyUpdate(receiverMerged, merged);
    expect(receiverFast.getText('t').toString()).toBe(receiverMerged.getText('t').toString());
    expect(Y.encodeStateVector(receiverFast)).toEqual(Y.encodeStateVector(receiverMerged));
    expect(Y.equalSnapshots(Y.snapshot(receiverFast), Y.snapshot(receiverMerged))).toBe(true);
    batch = null;
    updates = [];
  };
  local.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
    if (origin === REMOTE) {
      // The receivers learn remote edits on their own (from the relay), not from this batch.
      Y.applyUpdate(receiverFast, update);
      Y.applyUpdate(receiverMerged, update);
      return;
    }
    updates.push(update);
    if (batch === null) batch = startLocalBatch(local, tr);
    else addToLocalBatch(batch, tr);
  });
  for (const op of ops) {
    if (op.kind === 'remote') {
      Y.applyUpdate(remote, Y.encodeStateAsUpdate(local, Y.encodeStateVector(remote)));
      const before = Y.encodeStateVector(remote);
      edit(remote.getText('t'), op);
      Y.applyUpdate(local, Y.encodeStateAsUpdate(remote, before), REMOTE);
    } else {
      edit(local.getText('t'), op);
    }
    if (op.seal) seal();
  }
  seal();
  expect(receiverFast.getText('t').toString()).toBe(local.getText('t').toString());
  return { fast, batches };
}

describe('encodeLocalBatch', () => {
  it('says what Y.mergeUpdates of the batch says, for any interleaving of local and remote edits', () => {
    let fast = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        fast += check(ops).fast;
      }),
      { numRuns: 300 },
    );
    // The fast path must actually be taken, or this property says nothing about it.
    expect(fast).toBeGreaterThan(100);
  });

  it('is much smaller than the merged keystrokes for a typed run', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'hello world');
    let batch: LocalBatch | null = null;
    const updates: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array, _origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
      updates.push(update);
      if (batch === null) batch = startLocalBatch(doc, tr);
      else addToLocalBatch(batch, tr);
    });
    for (let i = 0; i < 200; i++) text.insert(5 + i, 'x');
    text.delete(0, 3);
    const encoded = encodeLocalBatch(batch as unknown as LocalBatch);
    expect(encoded).not.toBeNull();
    const merged = Y.mergeUpdates(updates);
    expect((encoded as Uint8Array).length * 5).toBeLessThan(merged.length);
  });

  it('falls back when a local-origin transaction carries another client’s structs', () => {
    const doc = new Y.Doc();
    const other = new Y.Doc();
    other.getText('t').insert(0, 'abc');
    let batch: LocalBatch | null = null;
    doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
      if (batch === null) batch = startLocalBatch(doc, tr);
      else addToLocalBatch(batch, tr);
    });
    doc.getText('t').insert(0, 'x');
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));
    expect(encodeLocalBatch(batch as unknown as LocalBatch)).toBeNull();
  });

  it('falls back when the doc holds local structs the batch does not', () => {
    const doc = new Y.Doc();
    let batch: LocalBatch | null = null;
    let tracking = true;
    doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
      if (!tracking) return;
      if (batch === null) batch = startLocalBatch(doc, tr);
      else addToLocalBatch(batch, tr);
    });
    doc.getText('t').insert(0, 'x');
    tracking = false;
    doc.getText('t').insert(1, 'y');
    expect(encodeLocalBatch(batch as unknown as LocalBatch)).toBeNull();
  });
});
