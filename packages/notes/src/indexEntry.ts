import * as Y from 'yjs';
import { decodeDeps, type StateMap } from './deps.ts';

/** Name of the index doc's map of notes (noteId → entry). */
export const NOTES_MAP = 'notes';
/** Name of a note doc's body text. */
export const BODY_TEXT = 'body';

/**
 * Keys of an index entry (a `Y.Map`). `deps` is the note doc's encoded state
 * vector when the entry was written (create, rename): the entry depends on
 * that much of the note (causal consistency across docs). Readers ignore
 * keys they do not know, so older replicas keep working.
 */
export const EntryKey = {
  title: 'title',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  trashedAt: 'trashedAt',
  deps: 'deps',
} as const;

/** An index entry read defensively: a peer may have written anything. */
export interface EntryFields {
  /** `null` when the entry has no title text (a malformed entry). */
  title: Y.Text | null;
  createdAt: number;
  updatedAt: number;
  trashedAt: number | null;
  /** `null` when absent or unreadable (then nothing holds the note back). */
  deps: StateMap | null;
}

function timestamp(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Reads an entry of the notes map; `undefined` when the value is not an entry at all. */
export function readEntry(value: unknown): EntryFields | undefined {
  if (!(value instanceof Y.Map)) return undefined;
  const title = value.get(EntryKey.title);
  return {
    title: title instanceof Y.Text ? title : null,
    createdAt: timestamp(value.get(EntryKey.createdAt)) ?? 0,
    updatedAt: timestamp(value.get(EntryKey.updatedAt)) ?? 0,
    trashedAt: timestamp(value.get(EntryKey.trashedAt)),
    deps: decodeDeps(value.get(EntryKey.deps)),
  };
}
