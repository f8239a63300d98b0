import { createHash } from 'node:crypto';
import { authorNames, BODY_TEXT, NOTES_MAP, readEntry } from '@lattice/notes/schema';
import * as Y from 'yjs';

/** A doc rebuilt from stored updates (a compacted snapshot counts as one). */
export function docFromUpdates(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  // One transaction for the whole log, as a room loads it: logs hold keystrokes,
  // and `Y.mergeUpdates` over hundreds of thousands of them (a busy doc between
  // two compactions) kept a relay busy for minutes at shutdown.
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update);
  });
  return doc;
}

/**
 * A digest of a doc's content: its state vector and delete set. Equal
 * digests mean nothing was inserted or deleted, so no new version is due
 * (a state vector alone misses deletions).
 */
export function contentDigest(doc: Y.Doc): string {
  return createHash('sha256')
    .update(Y.encodeSnapshotV2(Y.snapshot(doc)))
    .digest('base64url');
}

/** A state vector as a plain object (client id → clock), JSON-friendly. */
export function clocksOf(doc: Y.Doc): Record<string, number> {
  const clocks: Record<string, number> = {};
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) {
    clocks[String(client)] = clock;
  }
  return clocks;
}

/** Names of the authors whose clocks advanced from `before` to `after`, per the doc's authors map. */
export function authorsBetween(
  doc: Y.Doc,
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): string[] {
  const advanced: number[] = [];
  for (const [client, clock] of Object.entries(after)) {
    if (clock > (before[client] ?? 0)) advanced.push(Number(client));
  }
  return authorNames(doc, advanced);
}

/** The note's title in an index doc, or `null` when the entry is absent or malformed. */
export function titleIn(indexDoc: Y.Doc, noteId: string): string | null {
  const entry = readEntry(indexDoc.getMap(NOTES_MAP).get(noteId));
  return entry?.title?.toString() ?? null;
}

/** The Markdown body of a note doc's state (V2 update, as versions are stored). */
export function bodyOfState(stateV2: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdateV2(doc, stateV2);
  const body = doc.getText(BODY_TEXT).toString();
  doc.destroy();
  return body;
}
