import type { NoteStore } from '@lattice/notes';
import {
  collectNotes,
  DEFAULT_IMPORT_LIMITS,
  exportMarkdownFiles,
  exportNoteFile,
  type ImportInput,
  type ImportProblem,
  type ImportReport,
  importNotes,
  readImportFiles,
  zipFiles,
} from '@lattice/notes/markdown';

/** Hands `bytes` to the browser as a download named `name`. */
export function download(name: string, bytes: Uint8Array | string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later: some browsers read the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `lattice-<workspace>-<yyyy-mm-dd>.zip`. */
export function workspaceZipName(workspaceId: string, now = new Date()): string {
  return `lattice-${workspaceId}-${now.toISOString().slice(0, 10)}.zip`;
}

/** Downloads one note as `<title>.md` (read through the store, so it works for any note). */
export async function exportNote(store: NoteStore, noteId: string): Promise<string> {
  const { notes } = await collectNotes(store, { ids: [noteId] });
  const note = notes[0];
  if (note === undefined) throw new Error(`no note ${noteId}`);
  const file = exportNoteFile(note);
  download(file.path, file.text, 'text/markdown;charset=utf-8');
  return file.path;
}

/**
 * Downloads every note of the workspace, the trash included, as a zip of
 * Markdown files; opens each note doc through the store, so notes never
 * opened on this device are in it. Returns how many notes, and how many were
 * still arriving (exported as far as they got here).
 */
export async function exportWorkspace(
  store: NoteStore,
  onProgress?: (done: number, total: number) => void,
): Promise<{ name: string; count: number; incomplete: number }> {
  const { notes, incomplete } = await collectNotes(store, onProgress ? { onProgress } : {});
  const name = workspaceZipName(store.workspaceId);
  download(name, zipFiles(exportMarkdownFiles(notes)), 'application/zip');
  return { name, count: notes.length, incomplete: incomplete.length };
}

/**
 * Imports files picked in the browser (Markdown files, zips, or a folder
 * through `webkitdirectory`, named by their relative path). Files that could
 * never be imported are not read into memory.
 */
export async function importBrowserFiles(
  store: NoteStore,
  files: readonly File[],
  onProgress?: (done: number, total: number) => void,
): Promise<ImportReport> {
  const inputs: ImportInput[] = [];
  const tooLarge: ImportProblem[] = [];
  for (const file of files) {
    const name = file.webkitRelativePath || file.name;
    if (!/\.(md|markdown|zip)$/i.test(name)) {
      inputs.push({ name, bytes: new Uint8Array(0) });
    } else if (file.size > DEFAULT_IMPORT_LIMITS.maxTotalBytes) {
      tooLarge.push({ path: name, kind: 'error', message: `too large (${file.size} bytes)` });
    } else {
      inputs.push({ name, bytes: new Uint8Array(await file.arrayBuffer()) });
    }
  }
  const read = readImportFiles(inputs);
  read.problems.unshift(...tooLarge);
  return importNotes(store, read, onProgress ? { onProgress } : {});
}
