import { defaultKeymap, indentWithTab } from '@codemirror/commands';
import { markdown, markdownLanguage } from '@codemirror/lang-markdown';
import { indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import {
  drawSelection,
  dropCursor,
  EditorView,
  highlightSpecialChars,
  keymap,
  placeholder,
} from '@codemirror/view';
import { type Ref, useEffect, useImperativeHandle, useRef } from 'react';
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { remoteCursorLabels } from '../editor/remoteCursorLabels.ts';
import { returnView, takeView } from '../editor/viewPool.ts';
import { type WikiLinkHost, wikiLinks } from '../editor/wikiLinks.ts';
import { Mark, mark } from '../lib/marks.ts';
import { editorTheme, markdownHighlight } from './markdownTheme.ts';

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
    // Own the UndoManager so it is destroyed with the view; yCollab's default one would leak observers on the doc.
    const undoManager = new Y.UndoManager(body);
    const view = takeView(
      host,
      EditorState.create({
        doc: body.toString(),
        extensions: [
          keymap.of([...yUndoManagerKeymap, indentWithTab, ...defaultKeymap]),
          markdown({ base: markdownLanguage }),
          syntaxHighlighting(markdownHighlight),
          indentOnInput(),
          highlightSpecialChars(),
          drawSelection(),
          dropCursor(),
          EditorView.lineWrapping,
          placeholder('Start writing…'),
          EditorView.contentAttributes.of({ 'aria-label': 'Note text', spellcheck: 'true' }),
          editorTheme,
          yCollab(body, awareness, { undoManager }),
          remoteCursorLabels,
          ...(links ? [wikiLinks(links)] : []),
          ...(readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []),
        ],
      }),
    );
    viewRef.current = view;
    // The editor's DOM now holds the note's text (cold-load benchmark).
    mark(Mark.noteShown, { length: view.state.doc.length });
    return () => {
      viewRef.current = null;
      returnView(view);
      undoManager.destroy();
    };
  }, [body, awareness, readOnly, links]);

  return <div className="editor" data-testid="editor" ref={hostRef} />;
}
