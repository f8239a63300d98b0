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

/** The summary as Yjs's full decode gives it (what `summaryOfUpdate` computed before it skipped structs). */
function decodedSummary(update: Uint8Array): { vector: Map<number, number>; deletes: string } {
  const { structs, ds } = Y.decodeUpdate(update);
  const vector = new Map<number, number>();
  let client = -1;
  let clock = 0;
  let counting = false;
  for (const struct of structs) {
    if (struct.id.client !== client) {
      if (clock > 0) vector.set(client, clock);
      client = struct.id.client;
      clock = 0;
      counting = struct.id.clock === 0;
    }
    if (struct instanceof Y.Skip) counting = false;
    if (counting) clock = struct.id.clock + struct.length;
  }
  if (clock > 0) vector.set(client, clock);
  const ranges = [...ds.clients].map(([id, items]) => [id, items.map((i) => [i.clock, i.len])]);
  return { vector, deletes: JSON.stringify(ranges) };
}

const ODD_TEXT = ['é', 'naïve', '😀', 'a😀b', '日本語', '\u00ff', 'x', 'plain words'];

/** A doc using every kind of content Yjs encodes, with non-ASCII text, some of it deleted. */
function richDoc(gen: prng.PRNG, gc: boolean): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc({ gc });
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let session = 0; session < 3; session++) {
    doc.clientID = prng.uint32(gen, 1, 1_000_000);
    const text = doc.getText('body');
    const map = doc.getMap('meta');
    const list = doc.getArray<unknown>('list');
    const xml = doc.getXmlFragment('xml');
    for (let i = 0; i < 30; i++) {
      switch (prng.int32(gen, 0, 9)) {
        case 0:
          map.set(prng.word(gen, 1, 3), {
            n: prng.int32(gen, -1e6, 1e6),
            s: prng.oneOf(gen, ODD_TEXT),
          });
          break;
        case 1:
          list.insert(0, [prng.real53(gen), null, true, prng.oneOf(gen, ODD_TEXT), [1, 'é']]);
          break;
        case 2:
          list.insert(list.length, [new Uint8Array([1, 2, 255])]);
          break;
        case 3:
          xml.insert(0, [new Y.XmlElement(prng.oneOf(gen, ['p', 'h1', 'ü'])), new Y.XmlText('t')]);
          // A hook carries a name too (typed out of `insert`'s signature, accepted at run time).
          xml.insert(0, [new Y.XmlHook('hook') as unknown as Y.XmlText]);
          break;
        case 4:
          text.insertEmbed(prng.int32(gen, 0, text.length), { image: prng.oneOf(gen, ODD_TEXT) });
          break;
        case 5:
          if (text.length > 1) text.format(0, prng.int32(gen, 1, text.length), { bold: true });
          break;
        case 6:
          map.set('sub', new Y.Doc());
          break;
        case 7:
          if (list.length > 0) list.delete(0, 1);
          break;
        default:
          if (text.length > 0 && prng.bool(gen)) {
            const at = prng.int32(gen, 0, text.length - 1);
            text.delete(at, Math.min(text.length - at, prng.int32(gen, 1, 3)));
          } else {
            text.insert(prng.int32(gen, 0, text.length), prng.oneOf(gen, ODD_TEXT));
          }
      }
    }
  }
  return { doc, updates };
}

describe(`docSummary (seed ${SEED})`, () => {
  it('equals the full decode on every kind of content, gaps and truncated updates', () => {
    const gen = prng.create(SEED);
    let compared = 0;
    let refused = 0;
    for (let round = 0; round < 12; round++) {
      const { doc, updates } = richDoc(gen, round % 2 === 0);
      const gapped = Y.mergeUpdates(updates.filter((_, i) => i % 7 !== 3));
      for (const update of [Y.encodeStateAsUpdate(doc), Y.mergeUpdates(updates), gapped]) {
        const want = decodedSummary(update);
        const got = summaryOfUpdate(update);
        expect(got.vector).toEqual(want.vector);
        expect(got.stateVector).toEqual(Y.encodeStateVector(want.vector));
        expect(got.deletes).toEqual(deletesOf(update));
        compared++;
        // Cut anywhere: refused exactly when Yjs refuses, else the same summary.
        const cut = update.subarray(0, prng.int32(gen, 0, update.length - 1));
        let wanted: ReturnType<typeof decodedSummary> | null = null;
        try {
          wanted = decodedSummary(cut);
        } catch {
          refused++;
          expect(() => summaryOfUpdate(cut)).toThrow();
        }
        if (wanted !== null) expect(summaryOfUpdate(cut).vector).toEqual(wanted.vector);
      }
    }
    expect(compared).toBe(36);
    expect(refused).toBeGreaterThan(0);
  }, 30_000);

  it('counts a Y.Text item in UTF-16 units, and refuses invalid UTF-8 as Yjs does', () => {
    const doc = new Y.Doc();
    doc.clientID = 1;
    doc.getText('t').insert(0, 'a😀é');
    const update = Y.encodeStateAsUpdate(doc);
    expect(summaryOfUpdate(update).vector.get(1)).toBe(4);
    // Corrupt the emoji's lead byte (0xf0) into a stray continuation byte.
    const corrupt = update.slice();
    corrupt[corrupt.indexOf(0xf0)] = 0x80;
    expect(() => decodedSummary(corrupt)).toThrow();
    expect(() => summaryOfUpdate(corrupt)).toThrow();
    // An unknown content ref is refused, as Yjs refuses it.
    // One block, one struct, client 1, clock 0, then the item's info byte (a string).
    const unknown = update.slice();
    expect([...unknown.subarray(0, 5)]).toEqual([1, 1, 1, 0, 4]);
    unknown[4] = 12;
    expect(() => decodedSummary(unknown)).toThrow();
    expect(() => summaryOfUpdate(unknown)).toThrow();
  });

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
