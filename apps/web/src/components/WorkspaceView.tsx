import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useAccess } from '../hooks/useAccess.ts';
import { useBeforeUnload } from '../hooks/useBeforeUnload.ts';
import { useNoteSummary, useNotes } from '../hooks/useNotes.ts';
import { useNoteWarmer } from '../hooks/useNoteWarmer.ts';
import { useSessionWarnings } from '../hooks/useReplicationInfo.ts';
import { useSearchWarmup } from '../hooks/useSearchWarmup.ts';
import { useShortcuts } from '../hooks/useShortcuts.ts';
import { useSyncStatus } from '../hooks/useSyncStatus.ts';
import {
  useAnnouncePresence,
  usePeersByNote,
  useWorkspacePeers,
} from '../hooks/useWorkspacePresence.ts';
import { navigate } from '../lib/navigate.ts';
import { actionLabel, isApple } from '../lib/shortcuts.ts';
import { HistoryClient } from '../workspace/HistoryClient.ts';
import type { Identity } from '../workspace/identity.ts';
import { workspacePath } from '../workspace/routes.ts';
import type { WorkspaceSession } from '../workspace/WorkspaceSession.ts';
import type { WorkspaceEntry } from '../workspace/workspaces.ts';
import { AccessScreen } from './AccessScreen.tsx';
import { CloseButton } from './CloseButton.tsx';
import { EmptyState } from './EmptyState.tsx';
import { ExportImport } from './ExportImport.tsx';
import { IdentityEditor } from './IdentityEditor.tsx';
import { NoteList } from './NoteList.tsx';
import { NotePane } from './NotePane.tsx';
import { QuickSwitcher } from './QuickSwitcher.tsx';
import { RecentlyDeleted } from './RecentlyDeleted.tsx';
import { ReplicationPanel } from './ReplicationPanel.tsx';
import { ShareDialog } from './ShareDialog.tsx';
import { ShortcutsHelp } from './ShortcutsHelp.tsx';
import { SyncBadge } from './SyncBadge.tsx';
import { SyncProgress } from './SyncProgress.tsx';
import { WorkspacePresence } from './WorkspacePresence.tsx';
import { WorkspaceSwitcher } from './WorkspaceSwitcher.tsx';

/** Rows at the top of the list opened as background sync starts (`settleStartup`). */
const EAGER_WARM_ROWS = 8;

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
  // Versions live on the relay that serves the access API (null: no relay).
  const history = useMemo(
    () =>
      authApi === null
        ? null
        : new HistoryClient(authApi.baseUrl, workspaceId, () => session.access.token),
    [authApi, workspaceId, session.access],
  );
  const sessionWarnings = useSessionWarnings(replica);
  const openSummary = useNoteSummary(store, noteId ?? '');
  // Background sync starts once the first screen is up: the list (committed before
  // this effect runs) and, when one is being opened, the note's text.
  // The notes in view are then warmed (held open) too, so a click opens one from memory.
  const warming = useNoteWarmer(store, readOnly);
  const settleStartup = useCallback(() => {
    // The top rows' reads are started before background sync is released, so
    // they run ahead of its answers and a click there reads nothing.
    warming.warmFirst(EAGER_WARM_ROWS);
    session.settleStartup();
    warming.start();
  }, [session, warming]);
  useEffect(() => {
    if (noteId === null) settleStartup();
  }, [noteId, settleStartup]);
  const trashed = view === 'trash';
  const { notes, trashCount } = useNotes(store, { trashed, query });
  useSearchWarmup(store);
  // Workspace presence: who else is here and on which note (the index doc's awareness).
  useAnnouncePresence(store.indexAwareness, identity, noteId);
  const peers = useWorkspacePeers(store.indexAwareness);
  const peersOnNotes = usePeersByNote(peers);

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

  // Stable for the memoized list; always runs the latest createNote.
  const createRef = useRef(createNote);
  createRef.current = createNote;
  const createFromList = useCallback(() => createRef.current(), []);
  const [switcherOpen, setSwitcherOpen] = useState(false);
  const closeSwitcher = useCallback(() => setSwitcherOpen(false), []);
  const [helpOpen, setHelpOpen] = useState(false);
  const closeHelp = useCallback(() => setHelpOpen(false), []);
  const searchRef = useRef<HTMLInputElement>(null);
  const newNoteKeys = actionLabel('newNote', isApple());
  const stepNote = (step: 1 | -1) => {
    if (notes.length === 0) return;
    const at = noteId === null ? -1 : notes.findIndex((n) => n.id === noteId);
    const next = at === -1 ? (step === 1 ? notes[0] : notes[notes.length - 1]) : notes[at + step];
    if (next !== undefined) openNote(next.id);
  };
  useShortcuts(
    {
      newNote: createNote,
      search: () => {
        // On a phone the search box is on the list screen.
        if (noteId !== null && window.matchMedia('(max-width: 720px)').matches) openNote(null);
        // The list screen renders after the route change: try over a few frames.
        const focusSearch = (tries: number) => {
          const input = searchRef.current;
          if (input !== null && input.offsetParent !== null) {
            input.focus();
            input.select();
          } else if (tries > 0) {
            requestAnimationFrame(() => focusSearch(tries - 1));
          }
        };
        focusSearch(10);
      },
      quickSwitch: () => setSwitcherOpen(true),
      previousNote: () => stepNote(-1),
      nextNote: () => stepNote(1),
      help: () => setHelpOpen((open) => !open),
    },
    access.problem === null,
  );

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
      {/* The page's one top-level heading, for screen-reader navigation (on both phone screens). */}
      <header className="visually-hidden">
        <h1>Lattice notes</h1>
      </header>
      <nav className="sidebar" aria-label="Workspace and notes">
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
            <CloseButton label="Dismiss" onClick={() => setNotice(null)} />
          </div>
        ) : null}
        <div className="sidebar-tools">
          <input
            ref={searchRef}
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
            aria-keyshortcuts={newNoteKeys}
            title={
              readOnly
                ? 'Read-only: notes cannot be created with this link'
                : `New note (${newNoteKeys})`
            }
            onClick={createNote}
          >
            New note
          </button>
        </div>
        <ExportImport store={store} readOnly={readOnly} />
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
          onWindow={warming.warm}
          presence={peersOnNotes}
          {...(readOnly ? {} : { onCreate: createFromList, createShortcut: newNoteKeys })}
        />
        {trashed ? (
          <RecentlyDeleted
            client={history}
            readOnly={readOnly}
            onRestore={async (title, body) => openNote(await store.create({ title, body }))}
          />
        ) : null}
        <WorkspacePresence store={store} peers={peers} onOpen={openNote} />
        <footer className="sidebar-footer">
          <IdentityEditor identity={identity} onChange={onIdentityChange} />
        </footer>
      </nav>
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
            history={history}
            onBack={() => openNote(null)}
            onPurge={purgeNote}
            onShown={settleStartup}
          />
        ) : (
          <div className="main-empty">
            <EmptyState
              testId="main-empty"
              title={notes.length === 0 && !trashed ? 'Start your first note' : 'No note open'}
              hint={
                <>
                  Pick a note from the list, or press{' '}
                  <kbd>{actionLabel('quickSwitch', isApple())}</kbd> to find one by title. All
                  shortcuts: <kbd>?</kbd>
                </>
              }
              {...(readOnly
                ? {}
                : { action: { label: 'New note', onClick: createNote, shortcut: newNoteKeys } })}
            />
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
      {switcherOpen ? (
        <QuickSwitcher notes={store.list()} onOpen={openNote} onClose={closeSwitcher} />
      ) : null}
      {helpOpen ? <ShortcutsHelp onClose={closeHelp} /> : null}
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
