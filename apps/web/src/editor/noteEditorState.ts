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
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { editorTheme, markdownHighlight } from '../components/markdownTheme.ts';
import type { WikiLinkHost } from './linkHost.ts';
import { remoteCursorLabels } from './remoteCursorLabels.ts';
import { wikiLinks } from './wikiLinks.ts';

/** What one note's editor is made of; an editor state belongs to exactly these. */
export interface NoteEditorConfig {
  body: Y.Text;
  awareness: Awareness;
  readOnly: boolean;
  links: WikiLinkHost | undefined;
}

/** A note's editor state and the undo history bound into it (destroyed with the editor). */
export interface NoteEditorState {
  state: EditorState;
  undoManager: Y.UndoManager;
}

/**
 * The note's CodeMirror state: its text, the Markdown language (the parse of
 * the first screen runs here), and the binding to `body` with an undo manager
 * of its own, so undo only ever reverts this note's own edits.
 */
export function noteEditorState({
  body,
  awareness,
  readOnly,
  links,
}: NoteEditorConfig): NoteEditorState {
  // Owned here so it is destroyed with the editor; yCollab's default one would leak observers on the doc.
  const undoManager = new Y.UndoManager(body);
  const state = EditorState.create({
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
  });
  return { state, undoManager };
}
