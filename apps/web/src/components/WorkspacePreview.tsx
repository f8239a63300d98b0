import { BODY_TEXT } from '@lattice/notes';
import type { DocHandle } from '@lattice/replication';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { usePreloaded } from '../hooks/usePreloaded.ts';
import { navigate } from '../lib/navigate.ts';
import { workspacePath } from '../workspace/routes.ts';
import type { OpeningPreview } from '../workspace/WorkspaceSession.ts';
import { editorModule } from './editorModule.ts';
import { NoteList } from './NoteList.tsx';

interface Props {
  workspaceId: string;
  preview: OpeningPreview;
  noteId: string | null;
}

/**
 * The workspace while it opens on a returning device: the list it showed
 * last and, read-only, the note at the URL when that list holds it, in the
 * same layout as `WorkspaceView`, which replaces this as soon as the index
 * doc is read (bench `coldload`: neither waits for that any more). Rows open
 * notes as usual; everything that needs the store waits.
 */
export function WorkspacePreview({ workspaceId, preview, noteId }: Props) {
  const { snapshot } = preview;
  const openNote = useCallback(
    (id: string) => navigate(workspacePath(workspaceId, id)),
    [workspaceId],
  );
  const summary =
    noteId === null ? undefined : snapshot.notes.find((listed) => listed.id === noteId);
  // Idempotent per note (the session keeps what it opened), so safe during render.
  const pending = useMemo(
    () => (noteId === null ? null : preview.openNote(noteId)),
    [preview, noteId],
  );
  // Kept with the promise it came from: never another note's doc under this title.
  const [opened, setOpened] = useState<{ from: Promise<DocHandle>; handle: DocHandle } | null>(
    null,
  );
  useEffect(() => {
    if (pending === null) return;
    let active = true;
    pending.then(
      (handle) => {
        if (active) setOpened({ from: pending, handle });
      },
      // The note pane opens it again and says what went wrong.
      () => undefined,
    );
    return () => {
      active = false;
    };
  }, [pending]);
  const handle = opened !== null && opened.from === pending ? opened.handle : null;
  // Loaded once the list is up (the preview renders first), for the note about to open.
  const editor = usePreloaded(editorModule);
  // A note the list showed as still arriving is not shown from this device's copy.
  const showText = handle !== null && summary !== undefined && !summary.arriving;

  return (
    <div className="app" data-pane={noteId ? 'note' : 'list'} data-preview="true">
      <header className="visually-hidden">
        <h1>Lattice notes</h1>
      </header>
      <nav className="sidebar" aria-label="Workspace and notes" aria-busy="true">
        <header className="sidebar-header">
          <div className="badge-row">
            <span className="sync-badge" data-state="connecting" role="status">
              <span className="sync-dot" aria-hidden="true" />
              <span className="sync-label">Opening…</span>
            </span>
          </div>
        </header>
        <div className="view-tabs" role="tablist" aria-label="Show">
          <button type="button" role="tab" aria-selected={true} disabled>
            Notes
          </button>
          <button type="button" role="tab" aria-selected={false} disabled>
            Trash{snapshot.trashCount > 0 ? ` (${snapshot.trashCount})` : ''}
          </button>
        </div>
        <NoteList
          notes={snapshot.notes}
          trashed={false}
          searching={false}
          selectedId={noteId}
          onOpen={openNote}
        />
      </nav>
      <main className="main">
        {noteId ? (
          <article className="note-pane" aria-label={summary?.title || 'Untitled'}>
            <header className="note-header">
              <div className="note-title">{summary?.title || 'Untitled'}</div>
            </header>
            {showText && editor.value ? (
              <editor.value.MarkdownEditor
                body={handle.doc.getText(BODY_TEXT)}
                awareness={handle.awareness}
                readOnly
              />
            ) : (
              <div className="note-message">
                <p>Opening…</p>
              </div>
            )}
          </article>
        ) : null}
      </main>
    </div>
  );
}
