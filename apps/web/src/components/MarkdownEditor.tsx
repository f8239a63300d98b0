import type { EditorView } from '@codemirror/view';
import { type Ref, useEffect, useImperativeHandle, useRef } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { WikiLinkHost } from '../editor/linkHost.ts';
import { noteEditorState } from '../editor/noteEditorState.ts';
import { PreparedStates } from '../editor/PreparedStates.ts';
import { returnView, takeView } from '../editor/viewPool.ts';
import { Mark, mark } from '../lib/marks.ts';

/**
 * Editor states made in idle time for the notes held open in the list (see
 * `PreparedStates`); an editor takes its note's state from here.
 */
export const preparedStates = new PreparedStates(noteEditorState);

/** What a parent can do with the editor. */
export interface MarkdownEditorApi {
  focus(): void;
}

interface Props {
  body: Y.Text;
  awareness: Awareness;
  /** Read-only link: the text shows (with others' cursors) but cannot be changed. */
  readOnly?: boolean;
  /** Links between notes (`[[` autocomplete, titles, click to open); keep it stable. */
  links?: WikiLinkHost;
  ref?: Ref<MarkdownEditorApi>;
}

/**
 * The note body: CodeMirror 6 bound to the note's Y.Text. Remote cursors come
 * from awareness; undo/redo only reverts this person's own edits.
 */
export function MarkdownEditor({ body, awareness, readOnly = false, links, ref }: Props) {
  const hostRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);

  useImperativeHandle(ref, () => ({ focus: () => viewRef.current?.focus() }), []);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const { state, undoManager } = preparedStates.take({ body, awareness, readOnly, links });
    const view = takeView(host, state);
    viewRef.current = view;
    // The editor's DOM now holds the note's text (cold-load benchmark).
    mark(Mark.noteShown, { length: view.state.doc.length });
    return () => {
      viewRef.current = null;
      preparedStates.release(body);
      // With the view: its undo plugin detaches from the manager on destroy.
      returnView(view, () => undoManager.destroy());
    };
  }, [body, awareness, readOnly, links]);

  return <div className="editor" data-testid="editor" ref={hostRef} />;
}
