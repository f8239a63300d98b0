import { isValidId } from './routes.ts';
import { tokenClaims } from './tokens.ts';

/** The localStorage key holding the workspaces this browser knows. */
export const WORKSPACES_KEY = 'lattice:workspaces';
/** Where an unreadable list is kept aside instead of being overwritten. */
export const WORKSPACES_BACKUP_KEY = 'lattice:workspaces:unreadable';

/** One workspace this browser holds: its own, or one opened from a link. */
export interface WorkspaceEntry {
  id: string;
  /** A local label for the switcher (workspaces carry no shared name). */
  name: string;
  /** Created on this device (and seeded with the welcome note here). */
  createdHere: boolean;
  addedAt: number;
  lastOpenedAt: number;
  /**
   * The access token for this workspace: the owner token from claiming it,
   * or a share link's token. Absent in lists written before tokens existed
   * (and for workspaces not claimed yet, or served without auth).
   */
  token?: string;
}

/** The slice of `Storage` the list needs (tests pass a Map-backed fake). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The known workspaces in the order they were added. An unreadable list is backed up and reads as empty. */
export function readWorkspaces(storage: KeyValueStorage): WorkspaceEntry[] {
  const raw = storage.getItem(WORKSPACES_KEY);
  if (raw === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) {
    // Keep the damaged text so nothing a person had is silently dropped.
    storage.setItem(WORKSPACES_BACKUP_KEY, raw);
    console.warn(`${WORKSPACES_KEY} was unreadable; kept it under ${WORKSPACES_BACKUP_KEY}`);
    return [];
  }
  const seen = new Set<string>();
  const entries: WorkspaceEntry[] = [];
  for (const item of parsed) {
    const entry = toEntry(item);
    if (entry && !seen.has(entry.id)) {
      seen.add(entry.id);
      entries.push(entry);
    }
  }
  return entries;
}

/**
 * Adds `id` to the list (or updates it) and marks it as opened now. Returns
 * the new list. `createdHere` is only ever set, never cleared, by a later open.
 */
export function rememberWorkspace(
  storage: KeyValueStorage,
  workspace: { id: string; createdHere: boolean; name?: string },
  now: number,
): WorkspaceEntry[] {
  if (!isValidId(workspace.id)) throw new Error(`Not a workspace id: "${workspace.id}"`);
  const list = readWorkspaces(storage);
  const existing = list.find((entry) => entry.id === workspace.id);
  let next: WorkspaceEntry[];
  if (existing) {
    next = list.map((entry) =>
      entry.id === workspace.id
        ? {
            ...entry,
            name: workspace.name?.trim() || entry.name,
            createdHere: entry.createdHere || workspace.createdHere,
            lastOpenedAt: now,
          }
        : entry,
    );
  } else {
    next = [
      ...list,
      {
        id: workspace.id,
        name: workspace.name?.trim() || defaultWorkspaceName(list, workspace),
        createdHere: workspace.createdHere,
        addedAt: now,
        lastOpenedAt: now,
      },
    ];
  }
  storage.setItem(WORKSPACES_KEY, JSON.stringify(next));
  return next;
}

/**
 * Stores `token` for workspace `id` (adding the workspace if unknown). An
 * owner token is never replaced by a lesser one (opening your own read link
 * must not demote you); any other token is replaced by the newer one.
 */
export function rememberToken(
  storage: KeyValueStorage,
  id: string,
  token: string,
  now: number,
): WorkspaceEntry[] {
  if (!isValidId(id)) throw new Error(`Not a workspace id: "${id}"`);
  if (token.trim() === '') throw new Error('A token cannot be empty');
  let list = readWorkspaces(storage);
  if (!list.some((entry) => entry.id === id)) {
    list = rememberWorkspace(storage, { id, createdHere: false }, now);
  }
  const next = list.map((entry) => {
    if (entry.id !== id) return entry;
    const keepOwner =
      entry.token !== undefined &&
      entry.token !== token &&
      tokenClaims(entry.token)?.role === 'owner' &&
      tokenClaims(token)?.role !== 'owner';
    return keepOwner ? entry : { ...entry, token };
  });
  storage.setItem(WORKSPACES_KEY, JSON.stringify(next));
  return next;
}

/** Renames a workspace's local label; an empty name is rejected. */
export function renameWorkspace(
  storage: KeyValueStorage,
  id: string,
  name: string,
): WorkspaceEntry[] {
  const trimmed = name.trim();
  if (trimmed === '') throw new Error('A workspace name cannot be empty');
  const list = readWorkspaces(storage);
  if (!list.some((entry) => entry.id === id)) throw new Error(`Unknown workspace "${id}"`);
  const next = list.map((entry) => (entry.id === id ? { ...entry, name: trimmed } : entry));
  storage.setItem(WORKSPACES_KEY, JSON.stringify(next));
  return next;
}

/** The workspace opened most recently, to land on from `/`. */
export function mostRecentWorkspace(list: readonly WorkspaceEntry[]): WorkspaceEntry | undefined {
  let best: WorkspaceEntry | undefined;
  for (const entry of list) {
    if (!best || entry.lastOpenedAt > best.lastOpenedAt) best = entry;
  }
  return best;
}

function defaultWorkspaceName(
  list: readonly WorkspaceEntry[],
  workspace: { id: string; createdHere: boolean },
): string {
  if (!workspace.createdHere) return `Shared ${workspace.id.slice(0, 6)}`;
  const own = list.filter((entry) => entry.createdHere).length;
  return own === 0 ? 'My notes' : `Notes ${own + 1}`;
}

function toEntry(item: unknown): WorkspaceEntry | null {
  if (typeof item !== 'object' || item === null) return null;
  const record = item as Record<string, unknown>;
  const { id, name, createdHere, addedAt, lastOpenedAt, token } = record;
  if (typeof id !== 'string' || !isValidId(id)) return null;
  return {
    id,
    name: typeof name === 'string' && name.trim() !== '' ? name : `Workspace ${id.slice(0, 6)}`,
    createdHere: createdHere === true,
    addedAt: typeof addedAt === 'number' ? addedAt : 0,
    lastOpenedAt: typeof lastOpenedAt === 'number' ? lastOpenedAt : 0,
    ...(typeof token === 'string' && token !== '' ? { token } : {}),
  };
}
