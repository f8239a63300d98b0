import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { transactionChanged } from './transactionChanged.ts';

/** `transactionChanged` of each transaction `run` makes, beside whether Yjs emitted an update for it. */
function observe(doc: Y.Doc, run: () => void): { ours: boolean[]; yjs: number } {
  const ours: boolean[] = [];
  let yjs = 0;
  const onTransaction = (tr: Y.Transaction) => ours.push(transactionChanged(tr));
  const onUpdate = () => yjs++;
  doc.on('afterTransaction', onTransaction);
  doc.on('update', onUpdate);
  run();
  doc.off('afterTransaction', onTransaction);
  doc.off('update', onUpdate);
  return { ours, yjs };
}

describe('transactionChanged', () => {
  it("agrees with Yjs's update event: inserts, deletions only, nothing, and parts held back", () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    expect(observe(doc, () => text.insert(0, 'abc'))).toEqual({ ours: [true], yjs: 1 });
    expect(observe(doc, () => text.delete(0, 1))).toEqual({ ours: [true], yjs: 1 });
    expect(observe(doc, () => doc.transact(() => {}))).toEqual({ ours: [false], yjs: 0 });

    const source = new Y.Doc();
    source.getText('t').insert(0, 'x');
    const before = Y.encodeStateVector(source);
    source.getText('t').insert(1, 'y');
    const later = Y.encodeStateAsUpdate(source, before);
    // Held back for the part it builds on: nothing changed yet.
    expect(observe(doc, () => Y.applyUpdate(doc, later))).toEqual({ ours: [false], yjs: 0 });
  });
});
