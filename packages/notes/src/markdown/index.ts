/**
 * @lattice/notes/markdown — notes as Markdown files with YAML front matter
 * (title, id, dates, trash), a zip of them for a workspace, and import of
 * Markdown files and zips into a `NoteStore` that never overwrites a note.
 * Kept out of the main entry so the app loads it only on export or import.
 */

export {
  type CollectedNotes,
  type CollectOptions,
  collectNotes,
} from './collectNotes.ts';
export {
  type ExportedNote,
  type ExportFile,
  exportMarkdownFiles,
  exportNoteFile,
  noteFileName,
  TRASH_FOLDER,
  zipFiles,
} from './exportNotes.ts';
export { FileNamer, fileStem } from './fileNames.ts';
export { formatNoteFile, NoteFileError, parseNoteFile } from './frontMatter.ts';
export {
  type ImportedFile,
  type ImportOptions,
  type ImportReport,
  importNotes,
} from './importNotes.ts';
export type { NoteFile } from './noteFile.ts';
export {
  DEFAULT_IMPORT_LIMITS,
  type ImportInput,
  type ImportLimits,
  type ImportProblem,
  type ImportRead,
  readImportFiles,
} from './readImportFiles.ts';
