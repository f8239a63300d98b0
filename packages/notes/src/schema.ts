/**
 * @lattice/notes/schema — the shape of the note docs without the note store:
 * map and text names, index entries, the authors map. For readers outside
 * the front end (the relay's version history) that must not load the rest.
 */

export { AUTHORS_MAP, authorNames, recordAuthorship } from './authors.ts';
export { BODY_TEXT, type EntryFields, EntryKey, NOTES_MAP, readEntry } from './indexEntry.ts';
