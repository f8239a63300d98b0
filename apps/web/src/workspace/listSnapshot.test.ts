import type { NoteSummary } from '@lattice/notes';
import { describe, expect, it } from 'vitest';
import { decodeListSnapshot, encodeListSnapshot, sameList } from './listSnapshot.ts';

const note = (id: string, over: Partial<NoteSummary> = {}): NoteSummary => ({
  id,
  title: `Title ${id}`,
  snippet: `Body of ${id}`,
  createdAt: 1000,
  updatedAt: 2000,
  trashedAt: null,
  arriving: false,
  ...over,
});

describe('list snapshot', () => {
  it('round-trips what the list shows', () => {
    const notes = [note('a', { arriving: true, title: 'Ünïcode "quoted"' }), note('b')];
    const decoded = decodeListSnapshot(encodeListSnapshot({ token: 't1', notes, trashCount: 3 }));
    expect(decoded).toEqual({ token: 't1', notes, trashCount: 3 });
    expect(decoded && sameList(decoded.notes, notes)).toBe(true);
  });

  it('rejects missing, malformed and foreign data', () => {
    const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    expect(decodeListSnapshot(undefined)).toBeNull();
    expect(decodeListSnapshot(new Uint8Array([0xff, 0x00]))).toBeNull();
    expect(decodeListSnapshot(enc({ v: 2, token: 't', trashCount: 0, notes: [] }))).toBeNull();
    expect(decodeListSnapshot(enc({ v: 1, trashCount: 0, notes: [] }))).toBeNull();
    expect(
      decodeListSnapshot(enc({ v: 1, token: 't', trashCount: 0, notes: [['a', 'x', 's', 1]] })),
    ).toBeNull();
    expect(
      decodeListSnapshot(enc({ v: 1, token: 't', trashCount: 0, notes: [['a', 5, 's', 1, 2, 0]] })),
    ).toBeNull();
  });

  it('sameList compares order and every shown field', () => {
    const list = [note('a'), note('b')];
    expect(sameList(list, [note('a'), note('b')])).toBe(true);
    expect(sameList(list, [note('b'), note('a')])).toBe(false);
    expect(sameList(list, [note('a')])).toBe(false);
    expect(sameList(list, [note('a', { title: 'x' }), note('b')])).toBe(false);
    expect(sameList(list, [note('a', { snippet: 'x' }), note('b')])).toBe(false);
    expect(sameList(list, [note('a', { updatedAt: 1 }), note('b')])).toBe(false);
    expect(sameList(list, [note('a', { arriving: true }), note('b')])).toBe(false);
  });
});
