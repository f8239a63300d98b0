import type * as Y from 'yjs';

/**
 * Name of the map, in every note doc, from a Yjs client id (decimal string)
 * to the display name of the person who wrote with it. The relay's version
 * history reads it to say who wrote a version; names are self-declared, like
 * presence names (docs/ARCHITECTURE.md, "Version history").
 */
export const AUTHORS_MAP = 'authors';

/** Marks the transactions that write the authors map, so they do not trigger another. */
const AUTHORSHIP_ORIGIN = Symbol('lattice-authorship');

/**
 * Records `name()` as the author of this replica's client id in `doc` the
 * first time it inserts something (and again after the name changed).
 * Nothing is written for a replica that only reads, so read-only links stay
 * silent. Returns the function that stops recording.
 */
export function recordAuthorship(doc: Y.Doc, name: () => string): () => void {
  const authors = doc.getMap<string>(AUTHORS_MAP);
  let scheduled = false;
  const onAfterTransaction = (tr: Y.Transaction) => {
    if (!tr.local || tr.origin === AUTHORSHIP_ORIGIN || scheduled) return;
    const id = doc.clientID;
    // Deletions do not advance a clock: only inserts carry a client id to name.
    if ((tr.afterState.get(id) ?? 0) <= (tr.beforeState.get(id) ?? 0)) return;
    const current = name().trim();
    if (current === '' || authors.get(String(id)) === current) return;
    scheduled = true;
    // Not inside the observer: a nested transaction would join the user's own.
    queueMicrotask(() => {
      scheduled = false;
      if (authors.get(String(doc.clientID)) === current) return;
      doc.transact(() => authors.set(String(doc.clientID), current), AUTHORSHIP_ORIGIN);
    });
  };
  doc.on('afterTransaction', onAfterTransaction);
  return () => doc.off('afterTransaction', onAfterTransaction);
}

/** The recorded author names of `clientIds` in `doc`, deduplicated, in first-seen order. */
export function authorNames(doc: Y.Doc, clientIds: Iterable<number>): string[] {
  const authors = doc.getMap<unknown>(AUTHORS_MAP);
  const names: string[] = [];
  for (const id of clientIds) {
    const name = authors.get(String(id));
    if (typeof name === 'string' && name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}
