import * as Y from 'yjs';
import type { Room } from './Room.ts';

/**
 * Does the room already hold everything in `update`? A read-only client's
 * sync reply usually carries nothing new and may pass; anything else would
 * be a write and is dropped. An update that cannot be read is not contained.
 */
export function roomContains(room: Room, update: Uint8Array): boolean {
  // Holds nothing to check: no need to build a doc the room may not have materialised.
  if (update.length === 2 && update[0] === 0 && update[1] === 0) return true;
  try {
    return Y.snapshotContainsUpdate(Y.snapshot(room.doc), update);
  } catch {
    return false;
  }
}
