import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
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
    if (encoded !== null) {
      fast++;
      expect(encoded).toEqual(yjsEncoding(batch));
    }
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

/**
 * The batch as Yjs itself encodes it: `Y.encodeStateAsUpdate` of the clock
 * range, its trailing delete set (the doc's whole one) swapped for the
 * batch's. `encodeLocalBatch` writes the same bytes without the pass over
 * the doc's delete set.
 */
function yjsEncoding(batch: LocalBatch): Uint8Array {
  const { doc } = batch;
  const target = Y.decodeStateVector(Y.encodeStateVector(doc));
  target.set(doc.clientID, batch.fromClock);
  const full = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(target));
  const docDeletes = deleteSetBytes(Y.createDeleteSetFromStructStore(doc.store));
  expect(full.subarray(full.length - docDeletes.length)).toEqual(docDeletes);
  const own = deleteSetBytes(Y.mergeDeleteSets(batch.deleteSets));
  const out = new Uint8Array(full.length - docDeletes.length + own.length);
  out.set(full.subarray(0, full.length - docDeletes.length));
  out.set(own, full.length - docDeletes.length);
  return out;
}

/** A delete set in the V1 encoding (`yjsEncoding` checks it against the tail Yjs wrote). */
function deleteSetBytes(ds: ReturnType<typeof Y.createDeleteSet>): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, ds.clients.size);
  for (const [client, items] of [...ds.clients].sort((a, b) => b[0] - a[0])) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, items.length);
    for (const item of items) {
      encoding.writeVarUint(encoder, item.clock);
      encoding.writeVarUint(encoder, item.len);
    }
  }
  return encoding.toUint8Array(encoder);
}

/** Tracks every local transaction of `doc` from now on in one batch. */
function track(doc: Y.Doc): () => LocalBatch {
  let batch: LocalBatch | null = null;
  doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
    if (batch === null) batch = startLocalBatch(doc, tr);
    else addToLocalBatch(batch, tr);
  });
  return () => batch as unknown as LocalBatch;
}

describe('encodeLocalBatch', () => {
  it('writes Yjs’ bytes for a batch that starts inside a run Yjs merged with earlier keystrokes', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'abc');
    const receiver = new Y.Doc();
    Y.applyUpdate(receiver, Y.encodeStateAsUpdate(doc));
    const batch = track(doc);
    // Typed right after "abc": Yjs merges it into the same item, so the batch starts mid-struct.
    text.insert(3, 'd');
    text.insert(4, 'e');
    expect(doc.store.clients.get(doc.clientID)?.length).toBe(1);
    const encoded = encodeLocalBatch(batch()) as Uint8Array;
    expect(encoded).toEqual(yjsEncoding(batch()));
    const meta = Y.parseUpdateMeta(encoded);
    expect([meta.from.get(doc.clientID), meta.to.get(doc.clientID)]).toEqual([3, 5]);
    Y.applyUpdate(receiver, encoded);
    expect(receiver.getText('t').toString()).toBe('abcde');
  });

  it('writes no structs, only the deletions, for a batch that only deleted', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'hello world');
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    const batch = track(doc);
    text.delete(0, 6);
    text.delete(1, 2);
    const encoded = encodeLocalBatch(batch()) as Uint8Array;
    expect(encoded).toEqual(yjsEncoding(batch()));
    expect(Y.parseUpdateMeta(encoded).from.size).toBe(0);
    Y.applyUpdate(other, encoded);
    expect(other.getText('t').toString()).toBe('wld');
  });

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
    // 300 runs with a byte comparison each: seconds on a loaded machine.
  }, 30_000);

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
