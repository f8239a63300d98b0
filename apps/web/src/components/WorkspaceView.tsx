import { useCallback, useState } from 'react';
import { useAccess } from '../hooks/useAccess.ts';
import { useBeforeUnload } from '../hooks/useBeforeUnload.ts';
import { useNoteSummary, useNotes } from '../hooks/useNotes.ts';
import { useSessionWarnings } from '../hooks/useReplicationInfo.ts';
import { useSyncStatus } from '../hooks/useSyncStatus.ts';
import { navigate } from '../lib/navigate.ts';
import type { Identity } from '../workspace/identity.ts';
import { workspacePath } from '../workspace/routes.ts';
import type { WorkspaceSession } from '../workspace/WorkspaceSession.ts';
import type { WorkspaceEntry } from '../workspace/workspaces.ts';
import { AccessScreen } from './AccessScreen.tsx';
import { IdentityEditor } from './IdentityEditor.tsx';
import { NoteList } from './NoteList.tsx';
import { NotePane } from './NotePane.tsx';
import { ReplicationPanel } from './ReplicationPanel.tsx';
import { ShareDialog } from './ShareDialog.tsx';
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
  const [notice, setNotice] = useState<string | null>(warning ?? session.notice);
  const [panelOpen, setPanelOpen] = useState(false);
  const closePanel = useCallback(() => setPanelOpen(false), []);
  const [shareOpen, setShareOpen] = useState(false);
  const closeShare = useCallback(() => setShareOpen(false), []);
  const access = useAccess(session.access);
  const readOnly = access.readOnly;
  const authApi = session.access.api;
  const sessionWarnings = useSessionWarnings(replica);
  const openSummary = useNoteSummary(store, noteId ?? '');
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
    if (readOnly) return;
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

  if (access.problem !== null) {
    return (
      <AccessScreen
        problem={access.problem}
        reason={access.reason}
        workspaceId={workspaceId}
        workspaces={workspaces}
        onCreateWorkspace={onCreateWorkspace}
      />
    );
  }

  return (
    <div className="app" data-pane={noteId ? 'note' : 'list'} data-readonly={String(readOnly)}>
      <aside className="sidebar">
        <header className="sidebar-header">
          <div className="header-row">
            <WorkspaceSwitcher
              workspaces={workspaces}
              currentId={workspaceId}
              onSwitch={(id) => navigate(workspacePath(id))}
              onCreate={onCreateWorkspace}
            />
            {access.ownerToken !== null && authApi !== null ? (
              <button
                type="button"
                className="icon-button"
                data-testid="share-button"
                aria-label="Share this workspace"
                title="Share this workspace"
                aria-expanded={shareOpen}
                onClick={() => setShareOpen((open) => !open)}
              >
                <svg viewBox="0 0 20 20" aria-hidden="true">
                  <circle cx="14.5" cy="5" r="2" />
                  <circle cx="5.5" cy="10" r="2" />
                  <circle cx="14.5" cy="15" r="2" />
                  <path d="m7.3 9 5.4-3M7.3 11l5.4 3" />
                </svg>
              </button>
            ) : null}
            <button
              type="button"
              className="icon-button"
              data-testid="open-replication"
              aria-label="Replication details"
              title="Replication details"
              aria-expanded={panelOpen}
              onClick={() => setPanelOpen((open) => !open)}
            >
              <svg viewBox="0 0 20 20" aria-hidden="true">
                <path d="M6 15.5h8.5a3.5 3.5 0 0 0 .3-7A5 5 0 0 0 5.2 9.6 3 3 0 0 0 6 15.5z" />
                <path d="m8 11.8 1.6 1.5L12.5 10" />
              </svg>
            </button>
          </div>
          <div className="badge-row">
            <SyncBadge
              replica={replica}
              status={status}
              relayCount={session.relays.length}
              warnings={sessionWarnings}
            />
            {readOnly ? (
              <span
                className="readonly-badge"
                data-testid="readonly-badge"
                title="You can read this workspace; edits are not possible with this link."
              >
                Read-only
              </span>
            ) : null}
          </div>
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
            disabled={readOnly}
            title={readOnly ? 'Read-only: notes cannot be created with this link' : undefined}
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
          arriving={sessionWarnings.some((w) => w.docName === workspaceId)}
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
            readOnly={readOnly}
            autoFocusTitle={noteId === createdId}
            sessionToken={() => replica.exportSession([workspaceId, `${workspaceId}/${noteId}`])}
            onBack={() => openNote(null)}
            onPurge={purgeNote}
          />
        ) : (
          <div className="main-empty">
            <p>Select a note, or start a new one.</p>
          </div>
        )}
      </main>
      {panelOpen ? (
        <ReplicationPanel
          replica={replica}
          status={status}
          workspaceId={workspaceId}
          cluster={session.cluster}
          note={noteId && openSummary ? { id: noteId, title: openSummary.title } : null}
          onClose={closePanel}
        />
      ) : null}
      {shareOpen && access.ownerToken !== null && authApi !== null ? (
        <ShareDialog
          api={authApi}
          workspaceId={workspaceId}
          ownerToken={access.ownerToken}
          onClose={closeShare}
        />
      ) : null}
    </div>
  );
}
