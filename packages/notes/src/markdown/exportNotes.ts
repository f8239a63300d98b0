import { zipSync } from 'fflate';
import { FileNamer, fileStem } from './fileNames.ts';
import { formatNoteFile } from './frontMatter.ts';

/** A note with everything an export writes. */
export interface ExportedNote {
  id: string;
  title: string;
  body: string;
  createdAt: number;
  updatedAt: number;
  trashedAt: number | null;
}

/** One file of an export: its path inside the zip (or folder) and its text. */
export interface ExportFile {
  path: string;
  text: string;
  /** The note's `updatedAt`: the file's modification time. */
  mtime: number;
}

/** Folder of trashed notes in a workspace export. */
export const TRASH_FOLDER = 'Trash';

/** The file name of one note exported on its own: `<title>.md`. */
export function noteFileName(title: string): string {
  return `${fileStem(title)}.md`;
}

/** One note exported on its own. */
export function exportNoteFile(note: ExportedNote): ExportFile {
  return { path: noteFileName(note.title), text: formatNoteFile(note), mtime: note.updatedAt };
}

/**
 * The files of a workspace export: one `.md` per note, trashed notes in
 * `Trash/`. Notes are named in creation order (then id), so the same notes
 * always give the same names and bytes.
 */
export function exportMarkdownFiles(notes: readonly ExportedNote[]): ExportFile[] {
  const sorted = [...notes].sort(
    (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const active = new FileNamer();
  const trash = new FileNamer();
  return sorted.map((note) => ({
    path:
      note.trashedAt === null
        ? active.next(note.title)
        : `${TRASH_FOLDER}/${trash.next(note.title)}`,
    text: formatNoteFile(note),
    mtime: note.updatedAt,
  }));
}

// DOS dates in zip headers cover 1980–2107.
const MIN_ZIP_TIME = Date.UTC(1980, 0, 2);
const MAX_ZIP_TIME = Date.UTC(2107, 11, 30);
const encoder = new TextEncoder();

/** A zip of `files` (deflated; the same files give the same bytes). */
export function zipFiles(files: readonly ExportFile[]): Uint8Array {
  // No prototype: a path is only ever an own key.
  const entries: Record<string, [Uint8Array, { mtime: number }]> = Object.create(null);
  for (const file of files) {
    if (Object.hasOwn(entries, file.path)) throw new Error(`zipFiles: duplicate path ${file.path}`);
    const mtime = Math.min(Math.max(file.mtime, MIN_ZIP_TIME), MAX_ZIP_TIME);
    entries[file.path] = [encoder.encode(file.text), { mtime }];
  }
  return zipSync(entries, { level: 6 });
}
