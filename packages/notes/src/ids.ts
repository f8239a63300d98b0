import { toBase64UrlEncoded } from 'lib0/buffer';

/** A new note id: 16 random bytes, base64url without padding (never contains `/`). */
export function newId(): string {
  return toBase64UrlEncoded(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

/** Throws unless `id` can be one segment of a doc name. */
export function assertIdSegment(kind: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.includes('/')) {
    throw new TypeError(
      `${kind} must be a non-empty string without "/", got ${JSON.stringify(id)}`,
    );
  }
}

/** The doc name of a note: `${workspaceId}/${noteId}`. */
export function noteDocName(workspaceId: string, noteId: string): string {
  assertIdSegment('workspaceId', workspaceId);
  assertIdSegment('noteId', noteId);
  return `${workspaceId}/${noteId}`;
}
