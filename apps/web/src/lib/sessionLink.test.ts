import { describe, expect, it } from 'vitest';
import { readSessionFragment, withSessionFragment } from './sessionLink.ts';

describe('session link fragment', () => {
  it('round-trips a token through a link', () => {
    const token = 'ls1.AQx-_abc';
    const link = withSessionFragment('https://notes.example/w/abc/def', token);
    expect(link).toBe('https://notes.example/w/abc/def#session=ls1.AQx-_abc');
    expect(readSessionFragment(new URL(link).hash)).toEqual({ token, rest: '' });
  });

  it('keeps other fragment parts and replaces an old fragment', () => {
    expect(readSessionFragment('#a=1&session=t&b=2')).toEqual({ token: 't', rest: '#a=1&b=2' });
    expect(withSessionFragment('http://h/w/x#old', 'new')).toBe('http://h/w/x#session=new');
  });

  it('finds nothing where there is nothing', () => {
    expect(readSessionFragment('')).toEqual({ token: null, rest: '' });
    expect(readSessionFragment('#session=')).toEqual({ token: null, rest: '' });
    expect(readSessionFragment('#note')).toEqual({ token: null, rest: '#note' });
  });
});
