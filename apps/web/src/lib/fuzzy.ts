/**
 * Fuzzy title matching for the quick switcher: the query's characters must
 * appear in the title in order (case-insensitive, whitespace in the query
 * ignored). Matches at word starts and runs of consecutive characters score
 * higher, so "mn" ranks "Meeting notes" above "Common".
 */

/** A title that matched, with the indices of the matched characters (for highlighting). */
export interface FuzzyMatch {
  score: number;
  positions: number[];
}

const WORD_START_BONUS = 8;
const CONSECUTIVE_BONUS = 5;
const FIRST_CHAR_BONUS = 4;
const GAP_PENALTY = 1;

function isWordStart(text: string, i: number): boolean {
  if (i === 0) return true;
  const before = text.charAt(i - 1);
  const here = text.charAt(i);
  if (/[\s\-_/.,:;()[\]'"]/.test(before)) return true;
  // camelCase boundaries ("myNotes").
  return before === before.toLowerCase() && here !== here.toLowerCase();
}

/**
 * Scores `text` against `query`; `null` when the query's characters do not
 * all occur in order. An empty query matches everything with score 0.
 * Greedy with one look-ahead per character: it prefers the next word-start
 * occurrence when there is one, which is what people type in a switcher.
 */
export function fuzzyMatch(query: string, text: string): FuzzyMatch | null {
  const needle = query.replace(/\s+/g, '').toLowerCase();
  if (needle === '') return { score: 0, positions: [] };
  // Jumping ahead to word starts can pass the only place a later character occurs.
  return scan(needle, text, true) ?? scan(needle, text, false);
}

function scan(needle: string, text: string, jump: boolean): FuzzyMatch | null {
  const hay = text.toLowerCase();
  const positions: number[] = [];
  let score = 0;
  let from = 0;
  for (const ch of needle) {
    let at = hay.indexOf(ch, from);
    if (at === -1) return null;
    const previous = positions[positions.length - 1];
    // Not continuing a run: jump to a word start with this character if one follows.
    if (jump && (previous === undefined || at !== previous + 1)) {
      for (let i = at; i !== -1; i = hay.indexOf(ch, i + 1)) {
        if (isWordStart(text, i)) {
          at = i;
          break;
        }
      }
    }
    if (isWordStart(text, at)) score += WORD_START_BONUS;
    if (previous !== undefined && at === previous + 1) score += CONSECUTIVE_BONUS;
    if (at === 0) score += FIRST_CHAR_BONUS;
    score -= Math.min(at - from, 10) * GAP_PENALTY;
    positions.push(at);
    from = at + 1;
  }
  // Among equal matches, the shorter title is the closer one.
  score -= Math.min(text.length - needle.length, 20) * 0.1;
  return { score, positions };
}

/**
 * The best `limit` items for `query`, best first; ties keep the input order
 * (the list's, newest first). An empty query gives the first `limit` items.
 */
export function fuzzyFilter<T>(
  items: readonly T[],
  query: string,
  textOf: (item: T) => string,
  limit: number,
): { item: T; match: FuzzyMatch }[] {
  const out: { item: T; match: FuzzyMatch; order: number }[] = [];
  items.forEach((item, order) => {
    const match = fuzzyMatch(query, textOf(item));
    if (match !== null) out.push({ item, match, order });
  });
  out.sort((a, b) => b.match.score - a.match.score || a.order - b.order);
  return out.slice(0, limit).map(({ item, match }) => ({ item, match }));
}
