/** Where the address bar points: the app's whole navigation state lives in the URL so links work on other devices. */
export type Route =
  | { kind: 'home' }
  | { kind: 'workspace'; workspaceId: string; noteId: string | null }
  | { kind: 'invalid'; reason: string };

// Ids are base64url (newId(): 16 random bytes); tolerate other lengths so
// hand-made or future ids still open, but never anything that could be a path.
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `id` can be a workspace or note id (base64url, 1–64 characters). */
export function isValidId(id: string): boolean {
  return ID.test(id);
}

/** Parses a pathname: `/` → home, `/w/<workspaceId>[/<noteId>]` → workspace. */
export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((part) => part !== '');
  if (parts.length === 0) return { kind: 'home' };
  if (parts[0] !== 'w' || parts.length < 2 || parts.length > 3) {
    return { kind: 'invalid', reason: `There is nothing at ${pathname}.` };
  }
  const workspaceId = safeDecode(parts[1] ?? '');
  const noteId = parts[2] === undefined ? null : safeDecode(parts[2]);
  if (workspaceId === null || !isValidId(workspaceId)) {
    return { kind: 'invalid', reason: 'This link does not name a valid workspace.' };
  }
  if (noteId !== null && !isValidId(noteId)) {
    return { kind: 'invalid', reason: 'This link does not name a valid note.' };
  }
  return { kind: 'workspace', workspaceId, noteId };
}

/** The path of a workspace, or of one note in it. */
export function workspacePath(workspaceId: string, noteId?: string | null): string {
  const base = `/w/${encodeURIComponent(workspaceId)}`;
  return noteId ? `${base}/${encodeURIComponent(noteId)}` : base;
}

function safeDecode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}
