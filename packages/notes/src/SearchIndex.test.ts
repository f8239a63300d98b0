import { describe, expect, it } from 'vitest';
import { SearchIndex, TITLE_WEIGHT } from './SearchIndex.ts';

function body(text: string, key = text, updatedAt = 1) {
  return { text, key, updatedAt };
}

describe('SearchIndex', () => {
  it('finds notes containing every term, the last as a prefix', () => {
    const index = new SearchIndex();
    index.setTitle('a', 'Shopping list');
    index.setBody('a', body('apples and pears'));
    index.setTitle('b', 'Ideas');
    index.setBody('b', body('apple pie recipe'));
    expect(index.search('apple').map((m) => m.id)).toEqual(['a', 'b']);
    expect(index.search('appl').map((m) => m.id)).toEqual(['a', 'b']);
    expect(index.search('apple pie').map((m) => m.id)).toEqual(['b']);
    // Only the last term is a prefix.
    expect(index.search('appl pie')).toEqual([]);
    expect(index.search('shop').map((m) => m.id)).toEqual(['a']);
    expect(index.search('zebra')).toEqual([]);
    expect(index.search('  ')).toEqual([]);
  });

  it('ranks by hits with titles weighted', () => {
    const index = new SearchIndex();
    index.setTitle('title', 'Garden');
    index.setBody('title', body('nothing here'));
    index.setBody('body', body('garden garden'));
    const matches = index.search('garden');
    expect(matches).toEqual([
      { id: 'title', score: TITLE_WEIGHT },
      { id: 'body', score: 2 },
    ]);
    expect(index.search('garden', (id) => id !== 'title').map((m) => m.id)).toEqual(['body']);
  });

  it('updates a note incrementally and forgets removed words', () => {
    const index = new SearchIndex();
    index.setBody('n', body('old words'));
    expect(index.setBody('n', body('new words'))).toBe(true);
    expect(index.search('old')).toEqual([]);
    expect(index.search('new').map((m) => m.id)).toEqual(['n']);
    expect(index.search('words').map((m) => m.id)).toEqual(['n']);
    index.setTitle('n', 'Title');
    index.setTitle('n', 'Other');
    expect(index.search('title')).toEqual([]);
    expect(index.remove('n')).toBe(true);
    expect(index.search('new')).toEqual([]);
    expect(index.search('o')).toEqual([]);
    expect(index.ids()).toEqual([]);
  });

  it('skips re-tokenizing an unchanged version and text', () => {
    const index = new SearchIndex();
    index.setBody('n', body('text', 'k1'));
    const version = index.version;
    expect(index.setBody('n', body('text', 'k1'))).toBe(false);
    expect(index.version).toBe(version);
    // Same text under a new key: recorded, but search results cannot change.
    expect(index.setBody('n', body('text', 'k2', 5))).toBe(false);
    expect(index.body('n')).toEqual(body('text', 'k2', 5));
    expect(index.version).toBeGreaterThan(version);
  });

  it('round-trips through encode/decode', () => {
    const index = new SearchIndex();
    index.setTitle('a', 'Alpha');
    index.setBody('a', body('first body', 'ka', 10));
    index.setTitle('b', 'Beta');
    const seen = { ...body('seen', 'kc', 11), stateVector: new Uint8Array([1, 7, 3]) };
    index.setBody('c', seen);
    const bytes = index.encode('w1', ['b', 'b']);
    const { index: copy, pending } = SearchIndex.decode(bytes, 'w1');
    expect(pending).toEqual(['b']);
    expect(copy.ids().sort()).toEqual(['a', 'b', 'c']);
    expect(copy.body('a')).toEqual(body('first body', 'ka', 10));
    expect(copy.body('c')).toEqual(seen);
    expect(copy.body('b')).toBeUndefined();
    expect(copy.title('b')).toBe('Beta');
    expect(copy.search('first').map((m) => m.id)).toEqual(['a']);
  });

  it('rejects a blob it cannot trust with a clear error', () => {
    const bytes = new SearchIndex().encode('w1', []);
    expect(() => SearchIndex.decode(bytes, 'w2')).toThrow(/unusable search index.*workspace/);
    expect(() => SearchIndex.decode(bytes.slice(0, 2), 'w1')).toThrow(/unusable search index/);
    expect(() => SearchIndex.decode(new Uint8Array([99]), 'w1')).toThrow(/format version 99/);
    const trailing = new Uint8Array([...bytes, 0]);
    expect(() => SearchIndex.decode(trailing, 'w1')).toThrow(/trailing bytes/);
  });
});

describe('SearchIndex.prepare (idle-time tokenizing)', () => {
  const words =
    'garden plan budget review travel recipe notes draft meeting idea list good back way'.split(
      ' ',
    );
  function big(n: number): SearchIndex {
    const index = new SearchIndex();
    for (let i = 0; i < n; i++) {
      index.setTitle(`n${i}`, `${words[i % words.length]} ${words[(i * 7) % words.length]} ${i}`);
      const text = Array.from(
        { length: 200 },
        (_, j) => words[(i * 3 + j * 5) % words.length],
      ).join(' ');
      index.setBody(`n${i}`, body(text, `k${i}`));
    }
    return index;
  }

  it('does the lazy work in slices, and searches find the same as without it', () => {
    const lazy = big(200);
    const sliced = big(200);
    expect(sliced.prepared).toBe(false);
    // A zero budget still makes progress: one note per call.
    let calls = 0;
    while (sliced.prepare(0)) calls++;
    expect(calls).toBe(199);
    expect(sliced.prepared).toBe(true);
    expect(sliced.prepare()).toBe(false);
    for (const q of ['garden', 'plan b', 'rev', '42', 'nothing']) {
      expect(sliced.search(q)).toEqual(lazy.search(q));
    }
    // A body set afterwards is pending again, and found once prepared.
    sliced.setBody('n1', body('zucchini soup', 'k1b'));
    expect(sliced.prepared).toBe(false);
    expect(sliced.prepare()).toBe(false);
    expect(sliced.search('zucch').map((m) => m.id)).toEqual(['n1']);
  });

  it('refuses a meaningless budget', () => {
    expect(() => new SearchIndex().prepare(-1)).toThrow(RangeError);
    expect(() => new SearchIndex().prepare(Number.NaN)).toThrow(RangeError);
  });

  it('answers each keystroke of a query over 5,000 notes within the 50 ms budget once prepared', () => {
    const index = big(5000);
    const preparing = performance.now();
    index.prepare();
    const prepareMs = performance.now() - preparing;
    const query = 'garden plan rev';
    const times: number[] = [];
    for (let i = 1; i <= query.length; i++) {
      const started = performance.now();
      index.search(query.slice(0, i));
      times.push(performance.now() - started);
    }
    const worst = Math.max(...times);
    console.log(
      `SearchIndex 5,000 notes: prepare ${prepareMs.toFixed(0)} ms (idle time), per keystroke max ${worst.toFixed(1)} ms (${times.map((t) => t.toFixed(1)).join(' ')})`,
    );
    // Budget 50 ms in the browser; held to 150 ms here for a loaded shared CI core.
    expect(worst).toBeLessThan(150);
  });
});
