import type { NoteStore } from '@lattice/notes';
import { useNoteSummary } from '../hooks/useNotes.ts';
import type { WorkspacePeer } from '../lib/workspacePresence.ts';

interface Props {
  store: NoteStore;
  peers: readonly WorkspacePeer[];
  onOpen(id: string): void;
}

/** Who else is in this workspace and which note each of them has open. */
export function WorkspacePresence({ store, peers, onOpen }: Props) {
  if (peers.length === 0) return null;
  return (
    <section className="workspace-presence" data-testid="presence-list" aria-label="People here">
      <h2 className="workspace-presence-title">Here now</h2>
      <ul>
        {peers.map((peer) => (
          <PresenceUser key={peer.clientId} store={store} peer={peer} onOpen={onOpen} />
        ))}
      </ul>
    </section>
  );
}

function PresenceUser({
  store,
  peer,
  onOpen,
}: {
  store: NoteStore;
  peer: WorkspacePeer;
  onOpen(id: string): void;
}) {
  const note = useNoteSummary(store, peer.noteId ?? '');
  const noteTitle = note === undefined ? null : note.title.trim() || 'Untitled';
  return (
    <li className="presence-user" data-testid="presence-user" data-note-id={peer.noteId ?? ''}>
      <span className="presence-dot" style={{ backgroundColor: peer.color }} aria-hidden="true" />
      <span className="presence-name" data-testid="presence-name">
        {peer.name}
      </span>
      {noteTitle !== null && peer.noteId !== null ? (
        <button
          type="button"
          className="presence-note"
          data-testid="presence-note"
          title={`Open “${noteTitle}”`}
          onClick={() => onOpen(peer.noteId ?? '')}
        >
          {noteTitle}
        </button>
      ) : (
        <span className="presence-note idle">
          {peer.noteId === null ? 'browsing notes' : 'on a note not here yet'}
        </span>
      )}
    </li>
  );
}
