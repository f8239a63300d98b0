import type * as Y from 'yjs';

/**
 * Whether the notes map has ever had an entry under `id`, purged ones included:
 * a Y.Map keeps the deleted item of each key. A purged note's doc may still
 * hold its body on relays, so a new note must never take that id again.
 */
export function everHeld(notes: Y.Map<unknown>, id: string): boolean {
  return notes._map.has(id);
}
