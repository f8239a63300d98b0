import type { NoteSummary } from '@lattice/notes';

/**
 * A compact copy of the note list this device last showed, kept so that a
 * returning start paints the list before the index doc is read and the
 * `NoteStore` built (bench `coldload`: that path grew with the workspace).
 *
 * Monotonic reads: the snapshot must never show a list older than one this
 * device already showed. Every time the list's content changes, the tab
 * writes a fresh random token to a per-workspace marker in localStorage
 * (synchronous, shared by the origin's tabs, before the change renders); a
 * snapshot carries the token current when it was taken and is used only
 * while the marker still holds that token. A change after the snapshot (in
 * any tab), a write lost at shutdown or a cleared localStorage all leave the
 * marker elsewhere, and the app then waits for the index doc as before.
 */
export interface ListSnapshot {
  token: string;
  /** The workspace's notes (not trashed), newest first, as the list showed them. */
  notes: NoteSummary[];
  trashCount: number;
}

/** Meta key (in the workspace's storage) of the snapshot. */
export const LIST_SNAPSHOT_META_KEY = 'list-snapshot';

/** Where the per-workspace marker lives; localStorage in the browser. */
export interface ListMarker {
  read(workspaceId: string): string | null;
  write(workspaceId: string, token: string): void;
}

const FORMAT = 1;

/** The browser's marker store, or null where there is no localStorage. */
export function localStorageMarker(): ListMarker | null {
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  if (storage === undefined) return null;
  const key = (workspaceId: string) => `lattice:list-shown:${workspaceId}`;
  return {
    read: (workspaceId) => {
      try {
        return storage.getItem(key(workspaceId));
      } catch {
        return null;
      }
    },
    write: (workspaceId, token) => {
      try {
        storage.setItem(key(workspaceId), token);
      } catch {
        // Full or blocked: the old token would still match a snapshot older than
        // the list now shown. Without a marker, no snapshot matches.
        try {
          storage.removeItem(key(workspaceId));
        } catch {
          // Nothing more to do: a marker that cannot be read matches nothing either.
        }
      }
    },
  };
}

export function newListToken(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function encodeListSnapshot(snapshot: ListSnapshot): Uint8Array {
  const notes = snapshot.notes.map((n) => [
    n.id,
    n.title,
    n.snippet,
    n.createdAt,
    n.updatedAt,
    n.arriving ? 1 : 0,
  ]);
  return new TextEncoder().encode(
    JSON.stringify({ v: FORMAT, token: snapshot.token, trashCount: snapshot.trashCount, notes }),
  );
}

/** The snapshot in `bytes`, or null when it is missing, malformed or of another format. */
export function decodeListSnapshot(bytes: Uint8Array | undefined): ListSnapshot | null {
  if (bytes === undefined) return null;
  try {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as {
      v?: unknown;
      token?: unknown;
      trashCount?: unknown;
      notes?: unknown;
    };
    if (raw.v !== FORMAT || typeof raw.token !== 'string' || !Array.isArray(raw.notes)) {
      return null;
    }
    if (typeof raw.trashCount !== 'number') return null;
    const notes: NoteSummary[] = [];
    for (const row of raw.notes as unknown[]) {
      if (!Array.isArray(row) || row.length !== 6) return null;
      const [id, title, snippet, createdAt, updatedAt, arriving] = row as unknown[];
      if (
        typeof id !== 'string' ||
        typeof title !== 'string' ||
        typeof snippet !== 'string' ||
        typeof createdAt !== 'number' ||
        typeof updatedAt !== 'number'
      ) {
        return null;
      }
      notes.push(
        Object.freeze({
          id,
          title,
          snippet,
          createdAt,
          updatedAt,
          trashedAt: null,
          arriving: arriving === 1,
        }),
      );
    }
    return { token: raw.token, notes, trashCount: raw.trashCount };
  } catch {
    return null;
  }
}

/** The two lists show the same thing (ids, order, titles, snippets, dates, arriving). */
export function sameList(a: readonly NoteSummary[], b: readonly NoteSummary[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as NoteSummary;
    const y = b[i] as NoteSummary;
    if (x === y) continue;
    if (
      x.id !== y.id ||
      x.title !== y.title ||
      x.snippet !== y.snippet ||
      x.updatedAt !== y.updatedAt ||
      x.createdAt !== y.createdAt ||
      x.arriving !== y.arriving
    ) {
      return false;
    }
  }
  return true;
}
