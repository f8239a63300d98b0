import { type NoteStore, recordAuthorship } from '@lattice/notes';
import { useEffect, useRef, useState } from 'react';
import { useArriving } from '../hooks/useArriving.ts';
import { useNoteHandle } from '../hooks/useNoteHandle.ts';
import { useNoteSummary } from '../hooks/useNotes.ts';
import { useNow } from '../hooks/useNow.ts';
import { usePreloaded } from '../hooks/usePreloaded.ts';
import { useWikiLinkHost } from '../hooks/useWikiLinkHost.ts';
import { afterPaint } from '../lib/afterPaint.ts';
import { setDocumentTitle } from '../lib/documentTitle.ts';
import { relativeTime } from '../lib/relativeTime.ts';
import { showPresence } from '../lib/showPresence.ts';
import type { HistoryClient } from '../workspace/HistoryClient.ts';
import { awarenessUser, type Identity } from '../workspace/identity.ts';
import { workspacePath } from '../workspace/routes.ts';
import { Backlinks } from './Backlinks.tsx';
import { CopyLinkButton } from './CopyLinkButton.tsx';
import { ExportNoteButton } from './ExportImport.tsx';
import { editorModule } from './editorModule.ts';
import { HistoryPanel } from './HistoryPanel.tsx';
import type { MarkdownEditorApi } from './MarkdownEditor.tsx';
import { Presence } from './Presence.tsx';
import { TitleInput } from './TitleInput.tsx';
import { TrashBanner } from './TrashBanner.tsx';

interface Props {
  store: NoteStore;
  noteId: string;
  identity: Identity;
  /** Nothing left to exchange with the relay: a note still missing is really gone. */
  synced: boolean;
  autoFocusTitle: boolean;
  /** Edits would never leave this device (read-only link): title, body and trash are locked. */
  readOnly?: boolean;
  /** This session's record of the note and the list, for the copied link to carry. */
  sessionToken?: () => Promise<string>;
  /** The relay's version history of this workspace; `null` without a relay. */
  history?: HistoryClient | null;
  onBack(): void;
  onPurge(id: string): void;
  /** The pane shows what it will show for now: the note's text, or why not. */
  onShown?: () => void;
}

/** The open note: title, body editor, who else is here, and its trash state. */
export function NotePane({
  store,
  noteId,
  identity,
  synced,
  autoFocusTitle,
  readOnly = false,
  sessionToken,
  history = null,
  onBack,
  onPurge,
  onShown,
}: Props) {
  const editor = usePreloaded(editorModule);
  const summary = useNoteSummary(store, noteId);
  const { handle, error } = useNoteHandle(store, summary ? noteId : null);
  const arriving = useArriving(handle, summary?.arriving ?? false);
  const editorRef = useRef<MarkdownEditorApi>(null);
  const now = useNow();
  const links = useWikiLinkHost(store, noteId, readOnly);
  const [historyOpen, setHistoryOpen] = useState(false);

  // Runs after the editor's own effect, which created the view holding the text.
  const shown =
    summary === undefined ||
    error !== null ||
    arriving ||
    editor.error !== undefined ||
    (handle !== null && editor.value !== undefined);
  useEffect(() => {
    if (shown) onShown?.();
  }, [shown, onShown]);

  const title = summary?.title.trim() || 'Untitled';
  useEffect(() => {
    setDocumentTitle(`${title} — Lattice`);
    return () => setDocumentTitle('Lattice');
  }, [title]);

  // After the frame showing the note: the awareness change is encoded and
  // sent at once (~0.4 ms of a click in the click profile, bench `coldload`).
  useEffect(() => {
    if (handle === null) return;
    return afterPaint(() => handle.awareness.setLocalStateField('user', awarenessUser(identity)));
  }, [handle, identity]);
  useEffect(() => (handle === null ? undefined : showPresence(handle.awareness)), [handle]);

  // Names this device's edits in the note doc, for the relay's version history.
  useEffect(
    () => (handle && !readOnly ? recordAuthorship(handle.doc, () => identity.name) : undefined),
    [handle, identity.name, readOnly],
  );

  const backButton = (
    <button type="button" className="icon-button back" aria-label="Back to notes" onClick={onBack}>
      <svg viewBox="0 0 20 20" aria-hidden="true">
        <path d="M12.5 4.5 7 10l5.5 5.5" />
      </svg>
    </button>
  );

  if (!summary) {
    return (
      <article className="note-pane">
        <header className="note-header">{backButton}</header>
        <div className="note-message">
          {synced ? (
            <p>This note is not in this workspace. It may have been deleted forever.</p>
          ) : (
            <p>This note has not arrived on this device yet. It will open as soon as it syncs.</p>
          )}
        </div>
      </article>
    );
  }

  const trashed = summary.trashedAt !== null;
  return (
    <article className="note-pane" aria-label={summary.title || 'Untitled'}>
      <header className="note-header">
        {backButton}
        {handle ? (
          <TitleInput
            key={handle.id}
            store={store}
            noteId={noteId}
            title={handle.title}
            autoFocus={autoFocusTitle && !readOnly}
            readOnly={readOnly}
            onEnter={() => editorRef.current?.focus()}
          />
        ) : (
          <div className="note-title" aria-hidden="true" />
        )}
        <div className="note-actions">
          {handle ? <Presence awareness={handle.awareness} /> : null}
          <CopyLinkButton
            path={workspacePath(store.workspaceId, noteId)}
            sessionToken={sessionToken}
          />
          <ExportNoteButton store={store} noteId={noteId} />
          <button
            type="button"
            className="button subtle"
            data-testid="history-button"
            aria-expanded={historyOpen}
            onClick={() => setHistoryOpen((open) => !open)}
          >
            History
          </button>
          {trashed ? null : (
            <button
              type="button"
              className="button subtle"
              data-testid="trash-note"
              disabled={readOnly}
              onClick={() => store.trash(noteId)}
            >
              Move to trash
            </button>
          )}
        </div>
      </header>
      {trashed ? (
        <TrashBanner
          disabled={readOnly}
          onRestore={() => store.restore(noteId)}
          onPurge={() => onPurge(noteId)}
        />
      ) : null}
      {historyOpen && handle ? (
        <HistoryPanel
          client={history}
          noteId={noteId}
          body={handle.body}
          title={handle.title}
          readOnly={readOnly}
          onRename={(next) => store.rename(noteId, next)}
          onClose={() => setHistoryOpen(false)}
        />
      ) : null}
      {error ? (
        <div className="note-message" role="alert">
          <p>This note could not be opened: {error}</p>
        </div>
      ) : arriving ? (
        // Never an empty or stale body: the index already promises more than this device holds.
        <div className="note-arriving" data-testid="note-arriving" role="status">
          <strong>This note is still arriving…</strong>
          <span>
            Its latest version is on its way from the relay and opens here as soon as it is
            complete.
          </span>
        </div>
      ) : handle && editor.value ? (
        <editor.value.MarkdownEditor
          ref={editorRef}
          body={handle.body}
          awareness={handle.awareness}
          readOnly={readOnly}
          links={links}
        />
      ) : handle && editor.error ? (
        <div className="note-message" role="alert">
          <p>The editor could not be loaded: {editor.error.message}</p>
        </div>
      ) : handle ? (
        <div className="editor" />
      ) : (
        <div className="note-message">
          <p>Opening…</p>
        </div>
      )}
      <Backlinks store={store} noteId={noteId} onOpen={links.open} />
      <footer className="note-meta">Edited {relativeTime(summary.updatedAt, now)}</footer>
    </article>
  );
}
