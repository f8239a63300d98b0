import { HighlightStyle } from '@codemirror/language';
import { Compartment, type Extension } from '@codemirror/state';
import { EditorView, ViewPlugin } from '@codemirror/view';
import { tags } from '@lezer/highlight';

/** Markdown highlighting in the app's own colours (CSS variables, so dark mode follows). */
export const markdownHighlight = HighlightStyle.define([
  { tag: tags.heading1, fontSize: '1.6em', fontWeight: '700' },
  { tag: tags.heading2, fontSize: '1.35em', fontWeight: '700' },
  { tag: tags.heading3, fontSize: '1.15em', fontWeight: '650' },
  { tag: [tags.heading4, tags.heading5, tags.heading6], fontWeight: '650' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: 'var(--accent)', textDecoration: 'underline' },
  { tag: tags.monospace, fontFamily: 'var(--font-mono)', color: 'var(--code)' },
  { tag: tags.quote, color: 'var(--muted)', fontStyle: 'italic' },
  // Markup characters (#, *, -, >, backticks) step back so the text reads first.
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator], color: 'var(--faint)' },
]);

const chrome = EditorView.theme({
  '&': { height: '100%', backgroundColor: 'transparent', color: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-text)', lineHeight: '1.65', overflow: 'auto' },
  // Same column as the title above it (border-box, like every element here).
  '.cm-content': {
    maxWidth: '49rem',
    margin: '0 auto',
    padding: '0.5rem 1.5rem 40vh',
    caretColor: 'var(--accent)',
  },
  '.cm-line': { padding: '0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--accent)', borderLeftWidth: '2px' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground':
    { backgroundColor: 'var(--selection)' },
  '.cm-placeholder': { color: 'var(--faint)' },
  '.cm-ySelectionInfo': { fontFamily: 'var(--font-ui)', fontWeight: '600' },
  // Tooltips (link autocomplete) and panels in the page's colours, not CodeMirror's light/dark greys.
  '.cm-tooltip': {
    backgroundColor: 'var(--surface)',
    color: 'var(--text)',
    border: '1px solid var(--border)',
    borderRadius: 'var(--radius)',
    boxShadow: 'var(--dialog-shadow)',
  },
  '.cm-tooltip-autocomplete > ul > li': { padding: '0.2rem 0.6rem' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': {
    backgroundColor: 'var(--selected)',
    color: 'var(--text)',
  },
  '.cm-completionDetail, .cm-completionInfo': { color: 'var(--muted)' },
  '.cm-panels': { backgroundColor: 'var(--sidebar)', color: 'var(--text)' },
});

const DARK_QUERY = '(prefers-color-scheme: dark)';

/**
 * Tells CodeMirror whether the page is dark (`EditorView.darkTheme`), so its
 * own defaults (selection, tooltips of extensions that bring no theme) pick
 * their dark variants; follows the system setting while the editor is open.
 */
function followColorScheme(): Extension {
  if (typeof window === 'undefined' || typeof window.matchMedia !== 'function') return [];
  const scheme = new Compartment();
  const query = window.matchMedia(DARK_QUERY);
  return [
    scheme.of(EditorView.darkTheme.of(query.matches)),
    ViewPlugin.define((view) => {
      const onChange = () =>
        view.dispatch({ effects: scheme.reconfigure(EditorView.darkTheme.of(query.matches)) });
      query.addEventListener('change', onChange);
      return { destroy: () => query.removeEventListener('change', onChange) };
    }),
  ];
}

/**
 * Editor chrome: the page's fonts and colours (CSS variables, so dark mode
 * follows), no gutters, comfortable line length.
 */
export const editorTheme: Extension = [chrome, followColorScheme()];
