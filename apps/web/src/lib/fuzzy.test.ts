import { describe, expect, it } from 'vitest';
import { fuzzyFilter, fuzzyMatch } from './fuzzy.ts';

describe('fuzzyMatch', () => {
  it('matches characters in order, case-insensitively, ignoring spaces in the query', () => {
    expect(fuzzyMatch('mtg', 'Meeting')?.positions).toEqual([0, 3, 6]);
    expect(fuzzyMatch('MEET', 'meeting notes')).not.toBeNull();
    expect(fuzzyMatch('meet notes', 'Meeting notes')).not.toBeNull();
    expect(fuzzyMatch('gtm', 'Meeting')).toBeNull();
    expect(fuzzyMatch('x', 'Meeting')).toBeNull();
  });

  it('an empty query matches everything equally', () => {
    expect(fuzzyMatch('', 'anything')).toEqual({ score: 0, positions: [] });
    expect(fuzzyMatch('  ', '')).toEqual({ score: 0, positions: [] });
  });

  it('prefers word starts and runs', () => {
    const score = (q: string, t: string) => fuzzyMatch(q, t)?.score ?? Number.NEGATIVE_INFINITY;
    expect(score('mn', 'Meeting notes')).toBeGreaterThan(score('mn', 'Common'));
    expect(score('plan', 'Plan for Q3')).toBeGreaterThan(score('plan', 'Explanation'));
    expect(fuzzyMatch('no', 'Meeting notes')?.positions).toEqual([8, 9]);
  });

  it('still matches when jumping to a word start would pass the only later character', () => {
    // Greedy word-start jumping takes the "a" of "a" and finds no "b" after it.
    expect(fuzzyMatch('ab', 'xab a')?.positions).toEqual([1, 2]);
  });
});

describe('fuzzyFilter', () => {
  const titles = ['Groceries', 'Meeting notes', 'Common room', 'Reading list', 'meeting'];

  it('returns the best matches first, at most limit', () => {
    const out = fuzzyFilter(titles, 'mee', (t) => t, 10).map((r) => r.item);
    expect(out).toEqual(['meeting', 'Meeting notes']);
    expect(fuzzyFilter(titles, 'e', (t) => t, 2)).toHaveLength(2);
  });

  it('keeps the list order for an empty query and for ties', () => {
    expect(fuzzyFilter(titles, '', (t) => t, 3).map((r) => r.item)).toEqual(titles.slice(0, 3));
    expect(fuzzyFilter(['b x', 'a x'], 'x', (t) => t, 5).map((r) => r.item)).toEqual([
      'b x',
      'a x',
    ]);
  });

  it('handles 5,000 titles per keystroke in a few milliseconds', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `Note number ${i} about plans and budgets`);
    const started = performance.now();
    for (const q of ['p', 'pl', 'pla', 'plan', 'plans b']) fuzzyFilter(many, q, (t) => t, 50);
    // Generous: a shared CI core; measured ≈ 10–20 ms for all five on this machine.
    expect(performance.now() - started).toBeLessThan(500);
  });
});
