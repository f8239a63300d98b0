import { isMap, isScalar, parseDocument, stringify } from 'yaml';
import { IMPORTABLE_ID, type NoteFile } from './noteFile.ts';

/** Front matter keys Lattice writes and reads; any other key keeps the block in the body. */
const KNOWN_KEYS = new Set(['title', 'id', 'created', 'updated', 'trashed']);

/** A file that cannot be read as a note (the message says why, for people). */
export class NoteFileError extends Error {
  override name = 'NoteFileError';
}

/**
 * The Markdown file of a note: YAML front matter (`title`, `id`, `created`,
 * `updated`, and `trashed` when in the trash; dates as ISO 8601 UTC) and the
 * body verbatim after the closing `---`.
 */
export function formatNoteFile(note: {
  id: string;
  title: string;
  body: string;
  createdAt: number;
  updatedAt: number;
  trashedAt: number | null;
}): string {
  const meta: Record<string, string> = {
    title: note.title,
    id: note.id,
    created: isoDate(note.createdAt),
    updated: isoDate(note.updatedAt),
  };
  if (note.trashedAt !== null) meta.trashed = isoDate(note.trashedAt);
  // lineWidth 0: never fold a long title over several lines.
  return `---\n${stringify(meta, { lineWidth: 0 })}---\n${note.body}`;
}

/**
 * Reads a note file. Without front matter the whole text is the body and the
 * title is `fallbackTitle` (the file name). Throws `NoteFileError` for front
 * matter that is not valid YAML, not a mapping, or has unusable values.
 */
export function parseNoteFile(text: string, fallbackTitle: string): NoteFile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const block = splitFrontMatter(source);
  if (block === null) {
    return {
      id: null,
      title: fallbackTitle,
      body: source,
      createdAt: null,
      updatedAt: null,
      trashedAt: null,
    };
  }
  const doc = parseDocument(block.yaml, { prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    throw new NoteFileError(`broken front matter: ${yamlError.message.split('\n')[0]}`);
  }
  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) {
    throw new NoteFileError('broken front matter: expected "key: value" lines');
  }
  const meta = new Map<string, unknown>();
  for (const pair of contents?.items ?? []) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key !== 'string') throw new NoteFileError('broken front matter: a key is not text');
    meta.set(key, isScalar(pair.value) ? pair.value.value : pair.value);
  }
  const unknown = [...meta.keys()].some((key) => !KNOWN_KEYS.has(key));
  const createdAt = dateField(meta, 'created');
  const id = meta.get('id');
  return {
    id: typeof id === 'string' && IMPORTABLE_ID.test(id) ? id : null,
    title: titleField(meta) ?? fallbackTitle,
    // Front matter from another tool (tags, aliases…) stays in the body, so nothing is lost.
    body: unknown ? source : block.body,
    createdAt,
    updatedAt: dateField(meta, 'updated') ?? createdAt,
    trashedAt: meta.get('trashed') === false ? null : dateField(meta, 'trashed'),
  };
}

/** The YAML between a leading `---` line and the next `---` line, and the text after it. */
function splitFrontMatter(text: string): { yaml: string; body: string } | null {
  const open = /^---[ \t]*\r?\n/.exec(text);
  if (open === null) return null;
  const close = /^---[ \t]*(\r?\n|$)/m;
  const rest = text.slice(open[0].length);
  // An empty block: the closing line follows the opening one at once.
  const match = close.exec(rest);
  if (match === null) return null;
  return { yaml: rest.slice(0, match.index), body: rest.slice(match.index + match[0].length) };
}

function titleField(meta: Map<string, unknown>): string | null {
  const value = meta.get('title');
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new NoteFileError('broken front matter: title must be text');
}

function dateField(meta: Map<string, unknown>, key: string): number | null {
  const value = meta.get(key);
  if (value === undefined || value === null) return null;
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'string'
        ? Date.parse(value)
        : typeof value === 'number'
          ? value
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new NoteFileError(`broken front matter: ${key} is not a date (${JSON.stringify(value)})`);
  }
  return ms;
}

function isoDate(ms: number): string {
  const date = new Date(ms);
  if (!Number.isFinite(date.getTime())) throw new RangeError(`not a timestamp: ${ms}`);
  return date.toISOString();
}
