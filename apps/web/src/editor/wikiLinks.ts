import {
  autocompletion,
  type Completion,
  type CompletionContext,
  type CompletionResult,
} from '@codemirror/autocomplete';
import {
  type EditorState,
  type Extension,
  Prec,
  type Range,
  StateEffect,
  StateField,
  type Text,
} from '@codemirror/state';
import {
  Decoration,
  type DecorationSet,
  EditorView,
  keymap,
  ViewPlugin,
  WidgetType,
} from '@codemirror/view';
import { formatNoteLink, type NoteLink, parseNoteLinks } from '@lattice/notes';
import type { WikiLinkHost } from './linkHost.ts';

/** How a link shows: its target's current title, or the label it had when the target is gone. */
export type LinkState = 'ok' | 'trashed' | 'missing';

const refresh = StateEffect.define<null>();

/**
 * Re-reads every link's target (title, trash) into `state`'s decorations: for
 * a state made earlier (a prepared one) whose targets may have changed since.
 */
export function refreshLinks(state: EditorState): EditorState {
  // The refresh transaction re-runs every field's update (~0.7 ms of a click
  // in the click profile); a note without links has no decoration to re-read.
  if (linksOf(state).length === 0) return state;
  return state.update({ effects: refresh.of(null) }).state;
}

// `[[` and what follows it up to the cursor on the same line.
const TRIGGER = /\[\[[^[\]\n]*$/;

/**
 * Links between notes in the Markdown editor: `[[` opens autocomplete of note
 * titles and inserts `[Title](lattice:<id>)`; each such link shows its
 * target's current title (styled as broken when the target is trashed or
 * gone) unless the cursor is in it, when its Markdown shows for editing;
 * click or Mod-Enter on a link opens the note.
 */
export function wikiLinks(host: WikiLinkHost): Extension {
  const field = StateField.define<DecorationSet>({
    create: (state) => linkDecorations(state, host),
    update(value, tr) {
      const refreshed = tr.effects.some((effect) => effect.is(refresh));
      if (tr.docChanged || tr.selection !== undefined || refreshed) {
        return linkDecorations(tr.state, host);
      }
      return value;
    },
    provide: (f) => EditorView.decorations.from(f),
  });
  // Titles live in another doc: re-render links when the list changes.
  const listener = ViewPlugin.define((view) => {
    const unsubscribe = host.subscribe(() => view.dispatch({ effects: refresh.of(null) }));
    return { destroy: unsubscribe };
  });
  return [
    field,
    listener,
    Prec.high(
      keymap.of([
        {
          key: 'Mod-Enter',
          run: (view) => {
            const link = linkAt(view.state, view.state.selection.main.head);
            if (link === undefined) return false;
            if (host.resolve(link.targetId) !== undefined) host.open(link.targetId);
            return true;
          },
        },
      ]),
    ),
    autocompletion({
      override: [(context) => linkCompletions(context, host)],
      icons: false,
    }),
    linkTheme,
  ];
}

// Documents are immutable: parse each version once, however often the selection moves.
const parsed = new WeakMap<Text, NoteLink[]>();

/** The note links of the editor's text. */
export function linksOf(state: EditorState): NoteLink[] {
  let links = parsed.get(state.doc);
  if (links === undefined) {
    links = parseNoteLinks(state.doc.toString());
    parsed.set(state.doc, links);
  }
  return links;
}

/** The note link around (or touching) position `pos`. */
export function linkAt(state: EditorState, pos: number): NoteLink | undefined {
  return linksOf(state).find((link) => link.from <= pos && pos <= link.to);
}

/** How a link to `targetId` labelled `label` shows now. */
export function linkView(
  host: Pick<WikiLinkHost, 'resolve'>,
  targetId: string,
  label: string,
): { title: string; state: LinkState } {
  const target = host.resolve(targetId);
  if (target === undefined) return { title: label, state: 'missing' };
  return { title: target.title.trim() || 'Untitled', state: target.trashed ? 'trashed' : 'ok' };
}

/**
 * Decorations for every link: a widget with the target's current title, or,
 * while a selection touches the link from its start up to (not including)
 * its end, a mark over the Markdown being edited.
 */
export function linkDecorations(state: EditorState, host: WikiLinkHost): DecorationSet {
  const ranges: Range<Decoration>[] = [];
  for (const link of linksOf(state)) {
    const editing = state.selection.ranges.some((r) => r.from < link.to && r.to >= link.from);
    const shown = linkView(host, link.targetId, link.label);
    if (editing) {
      ranges.push(
        Decoration.mark({
          class: `cm-note-link-source cm-note-link-${shown.state}`,
        }).range(link.from, link.to),
      );
    } else {
      ranges.push(
        Decoration.replace({
          widget: new NoteLinkWidget(link.targetId, shown.title, shown.state, host),
        }).range(link.from, link.to),
      );
    }
  }
  return Decoration.set(ranges);
}

class NoteLinkWidget extends WidgetType {
  constructor(
    readonly targetId: string,
    readonly title: string,
    readonly state: LinkState,
    readonly host: WikiLinkHost,
  ) {
    super();
  }

  override eq(other: NoteLinkWidget): boolean {
    return (
      other.targetId === this.targetId && other.title === this.title && other.state === this.state
    );
  }

  override toDOM(view: EditorView): HTMLElement {
    const link = document.createElement('span');
    link.className = `cm-note-link cm-note-link-${this.state}`;
    link.textContent = this.title;
    link.dataset.testid = 'note-link';
    link.dataset.noteId = this.targetId;
    link.dataset.state = this.state;
    link.setAttribute('role', 'link');
    link.title =
      this.state === 'missing'
        ? `“${this.title}” is not in this workspace (deleted, or not arrived yet)`
        : this.state === 'trashed'
          ? `“${this.title}” is in the trash — click to open`
          : `Open “${this.title}” (click or ${isMac() ? '⌘' : 'Ctrl'}-Enter)`;
    link.addEventListener('mousedown', (event) => {
      // Keep the editor from moving the cursor into the link (which would show its Markdown).
      event.preventDefault();
    });
    link.addEventListener('click', (event) => {
      event.preventDefault();
      if (this.state !== 'missing') {
        this.host.open(this.targetId);
        return;
      }
      // Nothing to open: show the Markdown so the link can be fixed or removed.
      const pos = view.posAtDOM(link);
      view.dispatch({ selection: { anchor: pos + 1 } });
      view.focus();
    });
    return link;
  }

  override ignoreEvent(): boolean {
    return true;
  }
}

/** `[[query` before the cursor → matching note titles, plus "Create" for a new title. */
export function linkCompletions(
  context: CompletionContext,
  host: WikiLinkHost,
): CompletionResult | null {
  const match = context.matchBefore(TRIGGER);
  if (match === null) return null;
  const query = match.text.slice(2);
  const options: Completion[] = host.candidates(query).map((note) => ({
    label: note.title.trim() || 'Untitled',
    type: 'note',
    apply: (view, _completion, from, to) => insertLink(view, from, to, note.id, note.title),
  }));
  const title = query.trim();
  const exists = options.some((option) => option.label.toLowerCase() === title.toLowerCase());
  const create = host.create;
  if (create !== undefined && title !== '' && !exists) {
    options.push({
      label: `Create note “${title}”`,
      type: 'create',
      apply: (view, _completion, from, to) => {
        const start = from - 2;
        const end = closingEnd(view.state, to);
        const typed = view.state.sliceDoc(start, end);
        create(title).then(
          (id) => {
            // Replace what was typed, unless it changed meanwhile: then add the link at the cursor.
            const same = view.state.sliceDoc(start, end) === typed;
            const at = view.state.selection.main.head;
            const link = formatNoteLink(id, title);
            view.dispatch({
              changes: same ? { from: start, to: end, insert: link } : { from: at, insert: link },
              selection: { anchor: (same ? start : at) + link.length },
            });
          },
          (error: unknown) => console.error('Could not create the linked note', error),
        );
      },
    });
  }
  // Replaces only the query; `apply` widens the range to the `[[` and any `]]`.
  return { from: match.from + 2, to: context.pos, options, filter: false };
}

function insertLink(view: EditorView, from: number, to: number, id: string, title: string): void {
  const start = from - 2;
  const link = formatNoteLink(id, title);
  view.dispatch({
    changes: { from: start, to: closingEnd(view.state, to), insert: link },
    selection: { anchor: start + link.length },
    userEvent: 'input.complete',
  });
}

/** `to`, or past the `]]` right after it (typed ahead by the person or an auto-closer). */
function closingEnd(state: EditorState, to: number): number {
  return state.sliceDoc(to, to + 2) === ']]' ? to + 2 : to;
}

function isMac(): boolean {
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
}

const linkTheme = EditorView.baseTheme({
  '.cm-note-link': {
    color: 'var(--accent, #2563eb)',
    cursor: 'pointer',
    textDecoration: 'underline',
    textDecorationThickness: '1px',
    textUnderlineOffset: '2px',
    borderRadius: '3px',
  },
  '.cm-note-link:hover': { backgroundColor: 'rgba(37, 99, 235, 0.1)' },
  '.cm-note-link-trashed': {
    color: 'var(--muted, #6b7280)',
    textDecorationLine: 'line-through',
  },
  '.cm-note-link-missing': {
    color: 'var(--danger, #b42318)',
    textDecorationStyle: 'wavy',
  },
  '.cm-note-link-source': { backgroundColor: 'rgba(37, 99, 235, 0.08)' },
});
