import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, snippet, snippetAround, tokenize } from './text.ts';

describe('tokenize', () => {
  it('splits on anything but Unicode letters and digits, lowercased', () => {
    expect(tokenize('Hello, wörld! 42 times—ÉTÉ_été')).toEqual([
      'hello',
      'wörld',
      '42',
      'times',
      'été',
      'été',
    ]);
    expect(tokenize('日本語 テキスト')).toEqual(['日本語', 'テキスト']);
    expect(tokenize('  ** -- ')).toEqual([]);
  });

  it('keeps decomposed accents inside the word', () => {
    expect(tokenize('cafe\u0301 au lait')).toEqual(['café', 'au', 'lait']);
  });

  it('cuts very long tokens', () => {
    expect(tokenize('a'.repeat(500))).toEqual(['a'.repeat(MAX_TOKEN_LENGTH)]);
  });
});

describe('snippet', () => {
  it('leaves Markdown markup out of the list snippet', () => {
    const text = '# Trip\n\n- [x] book **flights**\n- [ ] tram 28\n1. `code` > _quote_\n---\n';
    expect(snippet(text)).toBe('Trip book flights tram 28 code quote');
  });

  it('collapses whitespace and cuts at the length', () => {
    expect(snippet('  # Title\n\n  some   text\there ')).toBe('Title some text here');
    expect(snippet('word '.repeat(100))).toHaveLength(120);
  });

  it('centres on the first query term when it is far into the text', () => {
    const text = `${'filler '.repeat(60)}the needle is here`;
    const around = snippetAround(text, ['needle']);
    expect(around.startsWith('…')).toBe(true);
    expect(around).toContain('the needle is here');
    expect(snippetAround('needle first', ['needle'])).toBe('needle first');
    expect(snippetAround('no match here', ['zzz'])).toBe('no match here');
  });
});
