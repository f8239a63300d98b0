import { EditorView } from '@codemirror/view';

/**
 * Remote cursors (y-codemirror.next) with their person's name always shown:
 * the library shows it only while the mouse is over the caret, so nobody
 * could tell whose cursor it was. The label is drawn in the person's colour
 * by the library; this only makes it visible and readable.
 */
export const remoteCursorLabels = EditorView.theme({
  '.cm-ySelectionInfo': {
    opacity: 1,
    fontFamily: 'var(--font-ui, system-ui, sans-serif)',
    fontWeight: 600,
    borderRadius: '3px 3px 3px 0',
    whiteSpace: 'nowrap',
    zIndex: 2,
  },
});
