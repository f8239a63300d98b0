/**
 * @lattice/notes — the note model: one index doc per workspace (titles,
 * timestamps, trash) plus one note doc per note, behind `NoteStore`, with an
 * incremental full-text search index.
 */

export { newId, noteDocName } from './ids.ts';
export {
  type NoteHandle,
  NoteStore,
  type NoteStoreOptions,
  type NoteSummary,
  type SearchHit,
} from './NoteStore.ts';
