import { useCallback, useState } from 'react';
import { useBeforeUnload } from '../hooks/useBeforeUnload.ts';
import { useNotes } from '../hooks/useNotes.ts';
import { useSyncStatus } from '../hooks/useSyncStatus.ts';
import { navigate } from '../lib/navigate.ts';
import type { Identity } from '../workspace/identity.ts';
import { workspacePath } from '../workspace/routes.ts';
import type { WorkspaceSession } from '../workspace/WorkspaceSession.ts';
import type { WorkspaceEntry } from '../workspace/workspaces.ts';
import { IdentityEditor } from './IdentityEditor.tsx';
import { NoteList } from './NoteList.tsx';
import { NotePane } from './NotePane.tsx';
import { SyncBadge } from './SyncBadge.tsx';
import { SyncProgress } from './SyncProgress.tsx';
import { WorkspaceSwitcher } from './WorkspaceSwitcher.tsx';

interface Props {
  session: WorkspaceSession;
  noteId: string | null;
  identity: Identity;
  onIdentityChange(next: Identity): void;
  workspaces: WorkspaceEntry[];
  onCreateWorkspace(): void;
  /** A problem with the page's configuration worth showing (e.g. a bad `?relay=`). */
  warning: string | null;
}

/** An open workspace: sidebar (switcher, status, search, notes/trash, identity) and the open note. */
export function WorkspaceView({
  session,
  noteId,
  identity,
  onIdentityChange,
  workspaces,
  onCreateWorkspace,
  warning,
}: Props) {
  const { store, replica, workspaceId } = session;
  const status = useSyncStatus(replica);
  // With no relay there is nowhere to save to, so closing loses nothing that waiting would save.
  useBeforeUnload(status.pendingLocal && session.relays.length > 0);
  const [view, setView] = useState<'notes' | 'trash'>('notes');
  const [query, setQuery] = useState('');
  const [createdId, setCreatedId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(warning);
  const trashed = view === 'trash';
  const { notes, trashCount } = useNotes(store, { trashed, query });

  const openNote = useCallback(
    (id: string | null) => navigate(workspacePath(workspaceId, id)),
    [workspaceId],
  );

  const fail = (what: string) => (error: unknown) => {
    console.error(error);
    setNotice(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  };

  const createNote = () => {
    setView('notes');
    setQuery('');
    store.create().then((id) => {
      setCreatedId(id);
      openNote(id);
    }, fail('Could not create a note'));
  };

  const purgeNote = (id: string) => {
    openNote(null);
    store.purge(id).catch(fail('Could not delete the note'));
  };

  return (
    <div className="app" data-pane={noteId ? 'note' : 'list'}>
      <aside className="sidebar">
        <header className="sidebar-header">
          <WorkspaceSwitcher
            workspaces={workspaces}
            currentId={workspaceId}
            onSwitch={(id) => navigate(workspacePath(id))}
            onCreate={onCreateWorkspace}
          />
          <SyncBadge replica={replica} status={status} relayCount={session.relays.length} />
          <SyncProgress replica={replica} status={status} />
        </header>
        {notice ? (
          <div className="notice" role="alert">
            <span>{notice}</span>
            <button
              type="button"
              className="icon-button"
              aria-label="Dismiss"
              onClick={() => setNotice(null)}
            >
              <svg viewBox="0 0 20 20" aria-hidden="true">
                <path d="M5 5l10 10M15 5 5 15" />
              </svg>
            </button>
          </div>
        ) : null}
        <div className="sidebar-tools">
          <input
            type="search"
            className="search"
            data-testid="search"
            placeholder={trashed ? 'Search trash' : 'Search notes'}
            aria-label={trashed ? 'Search trash' : 'Search notes'}
            value={query}
            onChange={(event) => setQuery(event.target.value)}
          />
          <button
            type="button"
            className="button primary"
            data-testid="new-note"
            onClick={createNote}
          >
            New note
          </button>
        </div>
        <div className="view-tabs" role="tablist" aria-label="Show">
          <button
            type="button"
            role="tab"
            aria-selected={!trashed}
            data-testid="show-notes"
            onClick={() => setView('notes')}
          >
            Notes
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={trashed}
            data-testid="show-trash"
            onClick={() => setView('trash')}
          >
            Trash{trashCount > 0 ? ` (${trashCount})` : ''}
          </button>
        </div>
        <NoteList
          notes={notes}
          trashed={trashed}
          searching={query.trim() !== ''}
          selectedId={noteId}
          onOpen={openNote}
        />
        <footer className="sidebar-footer">
          <IdentityEditor identity={identity} onChange={onIdentityChange} />
        </footer>
      </aside>
      <main className="main">
        {noteId ? (
          <NotePane
            key={noteId}
            store={store}
            noteId={noteId}
            identity={identity}
            synced={status.state === 'synced' || session.relays.length === 0}
            autoFocusTitle={noteId === createdId}
            onBack={() => openNote(null)}
            onPurge={purgeNote}
          />
        ) : (
          <div className="main-empty">
            <p>Select a note, or start a new one.</p>
          </div>
        )}
      </main>
    </div>
  );
}
