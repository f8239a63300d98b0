/**
 * Links between notes, stored in a note's Markdown body as an ordinary
 * Markdown link with a `lattice:` URL naming the target note by id:
 *
 *     [Title at link time](lattice:<noteId>)
 *
 * The id is what the link means (so it survives renames); the label is the
 * target's title when the link was made, kept so that the body reads well
 * in any Markdown viewer and in exports, and so that a link to a note that
 * is gone can still say what it pointed at. Editors show the target's
 * current title instead of the label.
 */

/** URL scheme of a link to a note of the same workspace. */
export const NOTE_LINK_SCHEME = 'lattice:';

/** One link found in a body. */
export interface NoteLink {
  /** Offset of the opening `[` (UTF-16 code units, as `Y.Text` and CodeMirror count). */
  from: number;
  /** Offset just after the closing `)`. */
  to: number;
  /** Id of the linked note. */
  targetId: string;
  /** The label as written, unescaped: the target's title when the link was made. */
  label: string;
}

/** The label written for a note with an empty title. */
export const UNTITLED_LABEL = 'Untitled';

// Note ids are base64url; the bound keeps a hostile body from naming huge "ids".
const ID = '[A-Za-z0-9_-]{1,64}';
// A label: escaped characters, or anything but brackets, backslashes and line breaks.
const LINK = new RegExp(
  `\\[((?:\\\\[^\\n]|[^\\\\\\[\\]\\n])*)\\]\\(${NOTE_LINK_SCHEME}(${ID})\\)`,
  'g',
);
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const BACKTICKS = /`+/g;
const ESCAPED = /\\([^\n])/g;
// Backticks too: an unescaped pair in a label would read as a code span, hiding the link.
const NEEDS_ESCAPE = /[\\[\]`]/g;
const LINE_BREAKS = /[\r\n]+/g;

/** True for a string that can be the id of a link target. */
export function isLinkTargetId(id: string): boolean {
  return new RegExp(`^${ID}$`).test(id);
}

/**
 * The Markdown of a link to note `targetId` whose title is `title` now. The
 * title is escaped so that any title reads back unchanged (`parseNoteLinks`).
 */
export function formatNoteLink(targetId: string, title: string): string {
  if (!isLinkTargetId(targetId)) {
    throw new TypeError(`formatNoteLink: not a note id: ${JSON.stringify(targetId)}`);
  }
  const label = title.replace(LINE_BREAKS, ' ').trim() || UNTITLED_LABEL;
  return `[${label.replace(NEEDS_ESCAPE, '\\$&')}](${NOTE_LINK_SCHEME}${targetId})`;
}

/**
 * Every note link in a Markdown body, in order. Links inside fenced code
 * blocks and inline code spans are text, not links, as Markdown renders them;
 * so is a link whose `[` is escaped.
 */
export function parseNoteLinks(markdown: string): NoteLink[] {
  const links: NoteLink[] = [];
  if (!markdown.includes(NOTE_LINK_SCHEME)) return links;
  let fence: { char: string; length: number } | null = null;
  let lineStart = 0;
  while (lineStart <= markdown.length) {
    const newline = markdown.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? markdown.length : newline;
    const line = markdown.slice(lineStart, lineEnd);
    const opener = FENCE.exec(line)?.[1];
    if (fence !== null) {
      // A fence closes with a run of the same character at least as long.
      if (opener !== undefined && opener[0] === fence.char && opener.length >= fence.length) {
        fence = null;
      }
    } else if (opener !== undefined) {
      fence = { char: opener[0] ?? '`', length: opener.length };
    } else if (line.includes(NOTE_LINK_SCHEME)) {
      linksOfLine(line, lineStart, links);
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  return links;
}

function linksOfLine(line: string, offset: number, into: NoteLink[]): void {
  const code = codeSpans(line);
  LINK.lastIndex = 0;
  for (let match = LINK.exec(line); match !== null; match = LINK.exec(line)) {
    const from = match.index;
    const to = from + match[0].length;
    if (escapedAt(line, from)) {
      // `\[`: literal text; the next `[` may still start a link.
      LINK.lastIndex = from + 1;
      continue;
    }
    if (code.some(([start, end]) => from < end && to > start)) continue;
    into.push({
      from: offset + from,
      to: offset + to,
      targetId: match[2] ?? '',
      label: (match[1] ?? '').replace(ESCAPED, '$1'),
    });
  }
}

/** `[start, end)` ranges of inline code spans in one line (a run of n backticks up to the next run of n). */
function codeSpans(line: string): Array<[number, number]> {
  if (!line.includes('`')) return [];
  const runs: Array<[number, number]> = [];
  BACKTICKS.lastIndex = 0;
  for (let match = BACKTICKS.exec(line); match !== null; match = BACKTICKS.exec(line)) {
    // A backslash-escaped backtick is a literal one (as a link label writes it).
    const escaped = escapedAt(line, match.index) ? 1 : 0;
    if (match[0].length > escaped) runs.push([match.index + escaped, match[0].length - escaped]);
  }
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < runs.length; i++) {
    const [start, length] = runs[i] ?? [0, 0];
    const close = runs.findIndex((run, j) => j > i && run[1] === length);
    if (close === -1) continue;
    const [end, endLength] = runs[close] ?? [0, 0];
    spans.push([start, end + endLength]);
    i = close;
  }
  return spans;
}

function escapedAt(text: string, index: number): boolean {
  let backslashes = 0;
  for (let i = index - 1; i >= 0 && text[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** Length of a backlink's context snippet. */
export const CONTEXT_LENGTH = 120;

/**
 * The line around `link` as plain text, every note link on it shown by its
 * label, cut to about `CONTEXT_LENGTH` characters centred on the link: what a
 * backlinks list shows of the linking note.
 */
export function linkContext(markdown: string, link: NoteLink, links: readonly NoteLink[]): string {
  const lineStart = markdown.lastIndexOf('\n', link.from - 1) + 1;
  const newline = markdown.indexOf('\n', link.to);
  const lineEnd = newline === -1 ? markdown.length : newline;
  let text = '';
  let at = lineStart;
  let linkAt = 0;
  for (const other of links) {
    if (other.to <= lineStart || other.from >= lineEnd) continue;
    text += markdown.slice(at, other.from);
    if (other === link) linkAt = text.length;
    text += other.label;
    at = other.to;
  }
  text += markdown.slice(at, lineEnd);
  // Leading Markdown markup (heading, list, quote) says nothing about the link.
  const markup = /^\s*(?:[#>*+-]+\s+|\d+[.)]\s+)*/.exec(text)?.[0].length ?? 0;
  text = text.slice(markup);
  linkAt = Math.max(0, linkAt - markup);
  if (text.length <= CONTEXT_LENGTH) return text.replace(/\s+/g, ' ').trim();
  const start = Math.max(0, Math.min(linkAt - CONTEXT_LENGTH / 3, text.length - CONTEXT_LENGTH));
  const cut = text
    .slice(start, start + CONTEXT_LENGTH)
    .replace(/\s+/g, ' ')
    .trim();
  return `${start > 0 ? '…' : ''}${cut}${start + CONTEXT_LENGTH < text.length ? '…' : ''}`;
}
