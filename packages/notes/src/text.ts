/** Longest token kept; longer runs (base64 blobs) are cut so they cannot bloat the vocabulary. */
export const MAX_TOKEN_LENGTH = 64;
/** Length of a note's list snippet. */
export const SNIPPET_LENGTH = 120;

// A word starts with a letter or digit; combining marks stay inside it so that
// decomposed accents do not split words.
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/** Lowercase word tokens of `text` (Unicode letters and digits), in order, duplicates kept. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.normalize('NFC').toLowerCase().matchAll(WORD)) {
    tokens.push(match[0].slice(0, MAX_TOKEN_LENGTH));
  }
  return tokens;
}

/** Counts of each token of `text`. */
export function countTokens(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokenize(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

// Markdown syntax that a list snippet should not show: headings, bullets,
// quotes, rules, ordered-list numbers and task boxes.
const MARKUP_ONLY = /^(?:[#>*+\-_=`~|]+|\d+[.)]|\[[ xX]?\]?|\])$/;
const EMPHASIS_EDGES = /^[*_`~]+|[*_`~]+$/g;

/** A whitespace-separated word without Markdown markup ('' when it is only markup). */
function plainWord(word: string): string {
  if (MARKUP_ONLY.test(word)) return '';
  return word.replace(EMPHASIS_EDGES, '');
}

/**
 * About `length` characters of `text` starting at `from`, whitespace collapsed.
 * Scans only as far as needed, so a long note costs no more than a short one.
 */
export function snippet(text: string, from = 0, length = SNIPPET_LENGTH): string {
  let out = '';
  const words = /\S+/g;
  words.lastIndex = from;
  for (let match = words.exec(text); match !== null; match = words.exec(text)) {
    const word = plainWord(match[0]);
    if (word.length === 0) continue;
    out = out.length === 0 ? word : `${out} ${word}`;
    if (out.length >= length) return out.slice(0, length);
  }
  return out;
}

/**
 * A snippet showing the first place where one of `terms` (lowercase) occurs
 * in `text`, or the start of `text` when none does (or it is near the start).
 */
export function snippetAround(text: string, terms: readonly string[]): string {
  const lower = text.toLowerCase();
  let first = -1;
  for (const term of terms) {
    const at = lower.indexOf(term);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  const lead = Math.floor(SNIPPET_LENGTH / 4);
  if (first <= lead) return snippet(text);
  // Back up to a word boundary (within reason) so the snippet does not begin mid-word.
  let start = first - lead;
  for (let n = 0; n < 20 && start > 0 && /\S/.test(text.charAt(start - 1)); n++) start--;
  return `…${snippet(text, start)}`;
}
