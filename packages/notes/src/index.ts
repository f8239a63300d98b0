/**
 * @lattice/notes — the note model: one index doc per workspace (titles,
 * timestamps, trash) plus one note doc per note, behind `NoteStore`, with an
 * incremental full-text search index and a link index (links between notes
 * as `[Title](lattice:<noteId>)`, backlinks). Markdown export/import (front
 * matter, zip) is the separate entry `@lattice/notes/markdown`, so the app
 * loads YAML and zip code only when used.
 */

export { AUTHORS_MAP, authorNames, recordAuthorship } from './authors.ts';
export { newId, noteDocName } from './ids.ts';
export { BODY_TEXT, type EntryFields, EntryKey, NOTES_MAP, readEntry } from './indexEntry.ts';
export { type IndexedBacklink, LinkIndex, type OutgoingLink } from './links/LinkIndex.ts';
export {
  formatNoteLink,
  isLinkTargetId,
  NOTE_LINK_SCHEME,
  type NoteLink,
  parseNoteLinks,
  UNTITLED_LABEL,
} from './links/noteLinks.ts';
export {
  type Backlink,
  LINKS_META_KEY,
  type NoteHandle,
  NoteStore,
  type NoteStoreOptions,
  type NoteSummary,
  type SearchHit,
} from './NoteStore.ts';
export type { NoteInit } from './noteInit.ts';
