import type { DocSource } from '@lattice/replication';
import * as Y from 'yjs';
import { noteDocName } from '../ids.ts';
import { BODY_TEXT } from '../indexEntry.ts';

/**
 * The naive way to show a note: read its body from whatever this replica
 * stored, ignoring the index entry's `deps`. Tests use it to show the empty
 * or stale note that `NoteSummary.arriving` exists to prevent.
 */
export async function readNoteNaively(
  source: DocSource,
  workspaceId: string,
  noteId: string,
): Promise<string> {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, await source.readStored(noteDocName(workspaceId, noteId)));
    return doc.getText(BODY_TEXT).toString();
  } finally {
    doc.destroy();
  }
}
