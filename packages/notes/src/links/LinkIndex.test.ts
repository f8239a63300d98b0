import { describe, expect, it } from 'vitest';
import { LinkIndex } from './LinkIndex.ts';
import { formatNoteLink } from './noteLinks.ts';

const T1 = 'target1AAAAAAAAAAAAAAA';
const T2 = 'target2AAAAAAAAAAAAAAA';

const sources = (index: LinkIndex, target: string) =>
  index
    .backlinks(target)
    .map((b) => b.sourceId)
    .sort();

describe('LinkIndex', () => {
  it('indexes links and answers backlinks', () => {
    const index = new LinkIndex();
    expect(
      index.update('a', 'k1', `see ${formatNoteLink(T1, 'One')} and ${formatNoteLink(T2, 'Two')}`),
    ).toBe(true);
    expect(
      index.update('b', 'k1', `${formatNoteLink(T1, 'One')} twice ${formatNoteLink(T1, 'Uno')}`),
    ).toBe(true);
    expect(sources(index, T1)).toEqual(['a', 'b']);
    expect(sources(index, T2)).toEqual(['a']);
    expect(index.backlinks('nobody')).toEqual([]);
    const fromB = index.backlinks(T1).find((b) => b.sourceId === 'b');
    expect(fromB).toEqual({ sourceId: 'b', count: 2, label: 'One', context: 'One twice Uno' });
    expect(index.linksFrom('a').map((l) => l.targetId)).toEqual([T1, T2]);
  });

  it('skips an unchanged version and reports whether links changed', () => {
    const index = new LinkIndex();
    index.update('a', 'k1', formatNoteLink(T1, 'One'));
    const version = index.version;
    expect(index.update('a', 'k1', 'ignored: same key')).toBe(false);
    expect(index.version).toBe(version);
    // New text, same links: recorded (new key) but nothing to tell the UI.
    expect(index.update('a', 'k2', formatNoteLink(T1, 'One'))).toBe(false);
    expect(index.key('a')).toBe('k2');
    expect(index.version).toBeGreaterThan(version);
  });

  it('drops a link removed from the body', () => {
    const index = new LinkIndex();
    index.update('a', 'k1', `${formatNoteLink(T1, 'One')} ${formatNoteLink(T2, 'Two')}`);
    expect(index.update('a', 'k2', formatNoteLink(T2, 'Two'))).toBe(true);
    expect(index.backlinks(T1)).toEqual([]);
    expect(sources(index, T2)).toEqual(['a']);
    expect(index.update('a', 'k3', 'no links any more')).toBe(true);
    expect(index.backlinks(T2)).toEqual([]);
    expect(index.ids()).toEqual(['a']);
  });

  it('forgets a removed (purged) source but keeps links to a removed target', () => {
    const index = new LinkIndex();
    index.update('a', 'k', formatNoteLink(T1, 'One'));
    index.update(T1, 'k', 'the target itself');
    expect(index.remove(T1)).toBe(true);
    expect(sources(index, T1)).toEqual(['a']);
    expect(index.remove('a')).toBe(true);
    expect(index.backlinks(T1)).toEqual([]);
    expect(index.remove('a')).toBe(false);
    expect(index.ids()).toEqual([]);
  });

  it('round-trips through encode/decode', () => {
    const index = new LinkIndex();
    index.update('a', 'ka', `x ${formatNoteLink(T1, 'One [1]')} y ${formatNoteLink(T1, 'again')}`);
    index.update('b', 'kb', 'nothing');
    const copy = LinkIndex.decode(index.encode('w1'), 'w1');
    expect(copy.ids().sort()).toEqual(['a', 'b']);
    expect(copy.key('a')).toBe('ka');
    expect(copy.key('b')).toBe('kb');
    expect(copy.backlinks(T1)).toEqual(index.backlinks(T1));
    expect(copy.linksFrom('a')).toEqual(index.linksFrom('a'));
  });

  it('refuses a blob of another workspace, version, or a damaged one', () => {
    const index = new LinkIndex();
    index.update('a', 'ka', formatNoteLink(T1, 'One'));
    const bytes = index.encode('w1');
    expect(() => LinkIndex.decode(bytes, 'w2')).toThrow(/workspace "w1"/);
    expect(() => LinkIndex.decode(new Uint8Array([9]), 'w1')).toThrow(/format version 9/);
    expect(() => LinkIndex.decode(bytes.slice(0, -3), 'w1')).toThrow(/unusable link index/);
    expect(() => LinkIndex.decode(new Uint8Array([...bytes, 0]), 'w1')).toThrow(/trailing/);
  });
});
