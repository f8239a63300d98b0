/** One note as a Markdown file carries it (export writes it, import reads it). */
export interface NoteFile {
  /** The note's id in the workspace it came from; `null` when the file has none (or an unusable one). */
  id: string | null;
  title: string;
  /** Markdown, verbatim. */
  body: string;
  /** ms since the epoch; `null` when the file does not say. */
  createdAt: number | null;
  updatedAt: number | null;
  /** When it was moved to the trash; `null`: not trashed. */
  trashedAt: number | null;
}

/** A note id that may be reused as is: what `newId` makes, or any doc-name-safe token of that shape. */
export const IMPORTABLE_ID = /^[A-Za-z0-9_-]{1,64}$/;
