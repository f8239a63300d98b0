import { everHeld } from '../everHeld.ts';
import { NOTES_MAP } from '../indexEntry.ts';
import type { NoteStore } from '../NoteStore.ts';
import type { NoteFile } from './noteFile.ts';
import type { ImportProblem, ImportRead } from './readImportFiles.ts';

/** What happened to one file of an import. */
export interface ImportedFile {
  path: string;
  /**
   * `imported`: a new note with the file's id; `copied`: a new note with a new
   * id (the file had none, or its id was taken by a different note or a
   * purged one); `unchanged`: a note with the same title and body is already
   * here, nothing written; `skipped`/`error`: see `message`.
   */
  status: 'imported' | 'copied' | 'unchanged' | 'skipped' | 'error';
  noteId?: string;
  message?: string;
}

/** The outcome of `importNotes`, per file and counted. */
export interface ImportReport {
  files: ImportedFile[];
  imported: number;
  unchanged: number;
  skipped: number;
  errors: number;
}

/** Options of `importNotes`. */
export interface ImportOptions {
  onProgress?: (done: number, total: number) => void;
}

/**
 * Creates a note for each file read by `readImportFiles`, never touching an
 * existing note: a file whose title and body equal those of the note with its
 * id (or, for a file without a usable id, of any note) is `unchanged`; a file
 * whose id this workspace never used keeps it; otherwise it gets a new id. Dates and
 * the trash state come from the front matter (default now). A note that
 * cannot be created is a per-file error; the rest still imports.
 */
export async function importNotes(
  store: NoteStore,
  read: ImportRead,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const files: ImportedFile[] = read.problems.map((problem: ImportProblem) => ({
    path: problem.path,
    status: problem.kind,
    message: problem.message,
  }));
  const notesMap = store.indexDoc.getMap(NOTES_MAP);
  // Titles of the notes here, kept up to date as notes are created (not re-listed per file).
  const byTitle = new Map<string, string[]>();
  const addTitle = (title: string, id: string) => {
    const ids = byTitle.get(title);
    if (ids === undefined) byTitle.set(title, [id]);
    else ids.push(id);
  };
  for (const summary of [...store.list(), ...store.list({ trashed: true })]) {
    addTitle(summary.title, summary.id);
  }
  let done = 0;
  for (const { path, note } of read.notes) {
    try {
      const result = await importOne(store, notesMap, byTitle, note);
      if (result.status !== 'unchanged' && result.noteId !== undefined) {
        addTitle(note.title, result.noteId);
      }
      files.push({ path, ...result });
    } catch (error) {
      files.push({
        path,
        status: 'error',
        message: error instanceof Error ? error.message : String(error),
      });
    }
    options.onProgress?.(++done, read.notes.length);
  }
  const count = (...statuses: ImportedFile['status'][]) =>
    files.filter((f) => statuses.includes(f.status)).length;
  return {
    files,
    imported: count('imported', 'copied'),
    unchanged: count('unchanged'),
    skipped: count('skipped'),
    errors: count('error'),
  };
}

async function importOne(
  store: NoteStore,
  notesMap: ReturnType<NoteStore['indexDoc']['getMap']>,
  byTitle: ReadonlyMap<string, string[]>,
  note: NoteFile,
): Promise<Omit<ImportedFile, 'path'>> {
  const same = await findSame(store, byTitle, note);
  if (same !== null) {
    return { status: 'unchanged', noteId: same, message: 'already in this workspace' };
  }
  const keepId = note.id !== null && !everHeld(notesMap, note.id);
  const noteId = await store.create({
    title: note.title,
    body: note.body,
    ...(keepId && note.id !== null ? { id: note.id } : {}),
    ...(note.createdAt === null ? {} : { createdAt: note.createdAt }),
    ...(note.updatedAt === null ? {} : { updatedAt: note.updatedAt }),
    trashedAt: note.trashedAt,
  });
  if (keepId) return { status: 'imported', noteId };
  return {
    status: 'copied',
    noteId,
    message:
      note.id === null
        ? 'new note'
        : `new note: id ${note.id} is taken by a different or deleted note`,
  };
}

/** An existing note (the file's id first, else any with its title) with the same title and body. */
async function findSame(
  store: NoteStore,
  byTitle: ReadonlyMap<string, string[]>,
  note: NoteFile,
): Promise<string | null> {
  // A file with an id is only ever the same as the note with that id: two
  // notes may have equal titles and bodies (two empty ones) and both must import.
  const candidates =
    note.id === null
      ? (byTitle.get(note.title) ?? [])
      : store.get(note.id) === undefined
        ? []
        : [note.id];
  for (const id of candidates) {
    if (store.get(id) === undefined) continue;
    const handle = await store.openNote(id);
    try {
      if (handle.title.toString() === note.title && handle.body.toString() === note.body) return id;
    } finally {
      handle.release();
    }
  }
  return null;
}
