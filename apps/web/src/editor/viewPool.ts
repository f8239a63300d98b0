import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { browserIdle } from '../lib/NoteWarmer.ts';

/**
 * One spare CodeMirror view, built while the page is idle and handed the next
 * note's state (`setState`) when an editor mounts: the constructor forces two
 * style/layout flushes (its DOM observer reads the selection, and
 * `document.fonts.ready`) and builds the DOM, ~40 % of a click's work in the
 * click profile (bench `coldload`).
 *
 * A spare has only ever held the empty state, and a closed note's view is
 * destroyed, never reused: plugins leave timers behind that read their own
 * state fields after the state is swapped (autocompletion's debounced
 * `startUpdate`/`accept` throw "Field is not present in this state" on a view
 * now showing another note), and a note's undo history, cursors and links must
 * not carry over. Everything per note lives in the state given here.
 */
let spare: EditorView | null = null;
let cancelBuild: (() => void) | null = null;

/** A view showing `state` inside `parent`: the spare one when it is ready. */
export function takeView(parent: HTMLElement, state: EditorState): EditorView {
  const view = spare;
  spare = null;
  if (view === null) {
    prepareView();
    return new EditorView({ parent, state });
  }
  parent.appendChild(view.dom);
  view.setState(state);
  prepareView();
  return view;
}

/**
 * Closes a note's view; the next editor takes a spare built in idle time.
 * The view (already out of the page with its pane) is destroyed one task
 * later, with `after`, so that the click opening the next note does not pay
 * for it (0.6–0.8 ms per click in the click profile). Until then it keeps its
 * own state, so its plugins' timers find their fields.
 */
export function returnView(view: EditorView, after?: () => void): void {
  setTimeout(() => {
    view.destroy();
    after?.();
  }, 0);
  prepareView();
}

/** Builds the spare view when the page is next idle (once; a no-op while one waits). */
export function prepareView(): void {
  if (spare !== null || cancelBuild !== null) return;
  cancelBuild = browserIdle(() => {
    cancelBuild = null;
    if (spare === null) spare = new EditorView({ state: EditorState.create() });
  });
}
