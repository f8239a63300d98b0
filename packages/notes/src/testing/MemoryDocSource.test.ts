import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryDocSource } from './MemoryDocSource.ts';
import { exchange, transfer } from './sync.ts';

function textOf(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

describe('MemoryDocSource', () => {
  it('shares one live doc between handles and stores its updates', async () => {
    const source = new MemoryDocSource();
    const a = await source.open('d');
    const b = await source.open('d');
    expect(a.doc).toBe(b.doc);
    a.doc.getText('t').insert(0, 'hello');
    a.release();
    a.release(); // idempotent: must not drop b's reference
    expect(source.isOpen('d')).toBe(true);
    b.release();
    expect(source.isOpen('d')).toBe(false);
    expect(textOf(await source.readStored('d'))).toBe('hello');
    const c = await source.open('d');
    expect(c.doc).not.toBe(a.doc);
    expect(c.doc.getText('t').toString()).toBe('hello');
    c.release();
  });

  it('announces changes of tracked or open docs only', async () => {
    const source = new MemoryDocSource();
    const other = new MemoryDocSource();
    const seen: string[] = [];
    const off = source.onDocChanged((name) => seen.push(name));
    const h = await other.open('x');
    h.doc.getText('t').insert(0, 'abc');
    const update = other.encodeDiff('x');

    source.applyUpdate('x', update); // neither tracked nor open: stored silently
    expect(seen).toEqual([]);
    expect(textOf(await source.readStored('x'))).toBe('abc');

    h.doc.getText('t').insert(3, 'd');
    source.track('x');
    source.applyUpdate('x', other.encodeDiff('x'));
    expect(seen).toEqual(['x']);
    source.applyUpdate('x', other.encodeDiff('x')); // nothing new: no event
    expect(seen).toEqual(['x']);

    const live = await source.open('y');
    live.doc.getText('t').insert(0, 'local');
    expect(seen).toEqual(['x', 'y']);
    off();
    live.doc.getText('t').insert(0, 'more');
    expect(seen).toEqual(['x', 'y']);
    live.release();
    h.release();
  });

  it('announces a deletion-only update', async () => {
    const a = new MemoryDocSource();
    const b = new MemoryDocSource();
    a.track('d');
    b.track('d');
    const h = await a.open('d');
    h.doc.getText('t').insert(0, 'abcdef');
    transfer(a, b);
    const seen: string[] = [];
    b.onDocChanged((name) => seen.push(name));
    h.doc.getText('t').delete(0, 3);
    transfer(a, b);
    expect(seen).toEqual(['d']);
    expect(textOf(await b.readStored('d'))).toBe('def');
    h.release();
  });

  it('forgets a doc and stops tracking it', async () => {
    const source = new MemoryDocSource();
    source.track('d');
    const h = await source.open('d');
    h.doc.getText('t').insert(0, 'x');
    h.release();
    expect(source.storedDocNames()).toEqual(['d']);
    await source.forget('d');
    expect(source.storedDocNames()).toEqual([]);
    expect(source.isTracked('d')).toBe(false);
    expect(textOf(await source.readStored('d'))).toBe('');
  });

  it('keeps meta values as copies', async () => {
    const source = new MemoryDocSource();
    const value = new Uint8Array([1, 2, 3]);
    await source.setMeta('k', value);
    value[0] = 9;
    expect(await source.getMeta('k')).toEqual(new Uint8Array([1, 2, 3]));
    await source.setMeta('k', undefined);
    expect(await source.getMeta('k')).toBeUndefined();
    expect(source.metaKeys()).toEqual([]);
  });

  it('rejects bad doc names with a clear error', async () => {
    const source = new MemoryDocSource();
    await expect(source.open('')).rejects.toThrow(/non-empty string/);
    expect(() => source.track('')).toThrow(/non-empty string/);
  });

  it('uses the given client ids for live docs', async () => {
    let next = 100;
    const source = new MemoryDocSource({ clientIds: () => next++ });
    const a = await source.open('a');
    const b = await source.open('b');
    expect([a.doc.clientID, b.doc.clientID]).toEqual([100, 101]);
    a.release();
    b.release();
  });
});

describe('transfer and exchange', () => {
  it('sync only docs both replicas track, and converge', async () => {
    const a = new MemoryDocSource();
    const b = new MemoryDocSource();
    for (const name of ['shared', 'onlyA']) a.track(name);
    b.track('shared');
    const ha = await a.open('shared');
    ha.doc.getText('t').insert(0, 'A');
    const hx = await a.open('onlyA');
    hx.doc.getText('t').insert(0, 'private');
    const hb = await b.open('shared');
    hb.doc.getText('t').insert(0, 'B');

    exchange(a, b);
    expect(b.storedDocNames()).toEqual(['shared']);
    expect(ha.doc.getText('t').toString()).toBe(hb.doc.getText('t').toString());
    expect(ha.doc.getText('t').toString()).toHaveLength(2);
    for (const h of [ha, hx, hb]) h.release();
  });

  it('sends docs the receiver starts tracking while receiving', async () => {
    const a = new MemoryDocSource();
    const b = new MemoryDocSource();
    for (const name of ['z-index', 'a-note']) a.track(name);
    b.track('z-index');
    const note = await a.open('a-note');
    note.doc.getText('t').insert(0, 'body');
    const index = await a.open('z-index');
    index.doc.getMap('m').set('a-note', true);
    // 'a-note' sorts first, so on the first pass the receiver does not track it yet:
    // it starts to only when it sees the index change.
    b.onDocChanged((name) => {
      if (name === 'z-index') b.track('a-note');
    });
    expect(transfer(a, b).sort()).toEqual(['a-note', 'z-index']);
    expect(textOf(await b.readStored('a-note'))).toBe('body');
    note.release();
    index.release();
  });
});
