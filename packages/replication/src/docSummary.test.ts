import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  decodeSummary,
  deletesCover,
  deletesOf,
  EMPTY_SUMMARY,
  encodeSummary,
  summaryOfUpdate,
  withDeletes,
} from './docSummary.ts';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

/** A doc edited by a few clients at random, with insertions and deletions. */
function randomDoc(gen: prng.PRNG): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let session = 0; session < 4; session++) {
    doc.clientID = prng.uint32(gen, 1, 1_000_000);
    const text = doc.getText('body');
    for (let i = 0; i < 60; i++) {
      if (text.length > 0 && prng.bool(gen)) {
        const at = prng.int32(gen, 0, text.length - 1);
        text.delete(at, Math.min(text.length - at, prng.int32(gen, 1, 4)));
      } else {
        text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 5));
      }
    }
  }
  return { doc, updates };
}

describe(`docSummary (seed ${SEED})`, () => {
  it('matches Yjs: state vector, and a delete set equal to the doc’s', () => {
    const gen = prng.create(SEED);
    for (let round = 0; round < 20; round++) {
      const { doc, updates } = randomDoc(gen);
      const merged = Y.mergeUpdates(updates);
      const summary = summaryOfUpdate(merged);
      expect(summary.stateVector).toEqual(Y.encodeStateVectorFromUpdate(merged));
      const fromDoc = deletesOf(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc)));
      expect(deletesCover(summary.deletes, fromDoc) && deletesCover(fromDoc, summary.deletes)).toBe(
        true,
      );
      expect(decodeSummary(encodeSummary(summary))).toEqual(summary);
      // A gap (an update missing in the middle) stops the vector where Yjs stops it.
      const gapped = Y.mergeUpdates(updates.filter((_, i) => i !== 5));
      expect(summaryOfUpdate(gapped).stateVector).toEqual(Y.encodeStateVectorFromUpdate(gapped));
    }
  });

  it('tells delete sets apart', () => {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'abcdefghij');
    const sv = Y.encodeStateVector(doc);
    const none = summaryOfUpdate(Y.encodeStateAsUpdate(doc));
    doc.getText('t').delete(2, 3);
    const some = deletesOf(Y.encodeStateAsUpdate(doc, sv));
    expect(deletesCover(none.deletes, some)).toBe(false);
    expect(deletesCover(withDeletes(none, some).deletes, some)).toBe(true);
    doc.getText('t').delete(0, 1);
    const more = deletesOf(Y.encodeStateAsUpdate(doc, sv));
    expect(deletesCover(some, more)).toBe(false);
    expect(deletesCover(more, some)).toBe(true);
    expect(deletesCover(EMPTY_SUMMARY.deletes, new Map())).toBe(true);
    expect(decodeSummary(new Uint8Array([7, 1]))).toBeNull();
  });
});
