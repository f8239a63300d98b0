/** Someone in the workspace, from the index doc's awareness. */
export interface WorkspacePeer {
  clientId: number;
  name: string;
  color: string;
  /** The note they have open, `null` while they look at the list. */
  noteId: string | null;
}

const HEX = /^#[0-9a-f]{6}$/i;
const MAX_NAME = 40;
const MAX_ID = 64;

/**
 * The other people in the workspace, from awareness states
 * `{ user: { name, color }, noteId }` (every client but `selfId`), ordered by
 * name then client id so the list does not jump. Anything malformed a peer
 * sent is ignored or replaced (a missing colour is grey, an odd note id none).
 */
export function readWorkspacePeers(
  states: ReadonlyMap<number, Record<string, unknown>>,
  selfId: number,
): WorkspacePeer[] {
  const peers: WorkspacePeer[] = [];
  for (const [clientId, state] of states) {
    if (clientId === selfId) continue;
    const user = state.user as { name?: unknown; color?: unknown } | undefined;
    if (typeof user !== 'object' || user === null || typeof user.name !== 'string') continue;
    const noteId = state.noteId;
    peers.push({
      clientId,
      name: user.name.slice(0, MAX_NAME).trim() || 'Anonymous',
      color: typeof user.color === 'string' && HEX.test(user.color) ? user.color : '#888888',
      noteId:
        typeof noteId === 'string' && noteId.length > 0 && noteId.length <= MAX_ID ? noteId : null,
    });
  }
  return peers.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId);
}

/** The peers on each note. */
export function peersByNote(peers: readonly WorkspacePeer[]): Map<string, WorkspacePeer[]> {
  const byNote = new Map<string, WorkspacePeer[]>();
  for (const peer of peers) {
    if (peer.noteId === null) continue;
    const list = byNote.get(peer.noteId);
    if (list === undefined) byNote.set(peer.noteId, [peer]);
    else list.push(peer);
  }
  return byNote;
}

/** Two peer lists show the same. */
export function samePeers(a: readonly WorkspacePeer[], b: readonly WorkspacePeer[]): boolean {
  return (
    a.length === b.length &&
    a.every((peer, i) => {
      const other = b[i];
      return (
        other !== undefined &&
        other.clientId === peer.clientId &&
        other.name === peer.name &&
        other.color === peer.color &&
        other.noteId === peer.noteId
      );
    })
  );
}
