import { CompletionContext } from '@codemirror/autocomplete';
import { EditorSelection, EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { formatNoteLink } from '@lattice/notes';
import { describe, expect, it } from 'vitest';
import { type LinkCandidate, matchTitles, type WikiLinkHost } from './linkHost.ts';
import {
  linkAt,
  linkCompletions,
  linkDecorations,
  linkView,
  refreshLinks,
  wikiLinks,
} from './wikiLinks.ts';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCCCCCCCC';

const notes: LinkCandidate[] = [
  { id: A, title: 'Project plan' },
  { id: B, title: 'Weekly project review' },
  { id: C, title: 'Groceries' },
];

function host(overrides: Partial<WikiLinkHost> = {}): WikiLinkHost {
  return {
    candidates: (query) => matchTitles(notes, query),
    resolve: (id) => {
      if (id === A) return { title: 'Project plan (renamed)', trashed: false };
      if (id === B) return { title: 'Weekly project review', trashed: true };
      return undefined;
    },
    open: () => {},
    create: async () => C,
    subscribe: () => () => {},
    ...overrides,
  };
}

function decorations(doc: string, cursor: number) {
  const state = EditorState.create({ doc, selection: EditorSelection.cursor(cursor) });
  const found: Array<{ from: number; to: number; replaced: boolean }> = [];
  linkDecorations(state, host()).between(0, doc.length, (from, to, value) => {
    found.push({ from, to, replaced: value.spec.widget !== undefined });
  });
  return found;
}

describe('wiki links in the editor', () => {
  it('ranks titles: prefix, then word start, then anywhere', () => {
    expect(matchTitles(notes, 'proj').map((n) => n.id)).toEqual([A, B]);
    expect(matchTitles(notes, 'RIES').map((n) => n.id)).toEqual([C]);
    expect(matchTitles(notes, 'view').map((n) => n.id)).toEqual([B]);
    expect(matchTitles(notes, '').map((n) => n.id)).toEqual([A, B, C]);
    expect(matchTitles(notes, '', 2)).toHaveLength(2);
    expect(matchTitles(notes, 'zzz')).toEqual([]);
  });

  it('shows the current title, or the label and a broken state', () => {
    expect(linkView(host(), A, 'Old label')).toEqual({
      title: 'Project plan (renamed)',
      state: 'ok',
    });
    expect(linkView(host(), B, 'x')).toEqual({ title: 'Weekly project review', state: 'trashed' });
    expect(linkView(host(), C, 'Gone note')).toEqual({ title: 'Gone note', state: 'missing' });
  });

  it('replaces a link by a widget unless the cursor is in it', () => {
    const link = formatNoteLink(A, 'Project plan');
    const doc = `see ${link} end`;
    const start = 4;
    const end = start + link.length;
    expect(decorations(doc, 0)).toEqual([{ from: start, to: end, replaced: true }]);
    // Right after the link: still the widget, so a link just inserted shows its title.
    expect(decorations(doc, end)).toEqual([{ from: start, to: end, replaced: true }]);
    expect(decorations(doc, start)).toEqual([{ from: start, to: end, replaced: false }]);
    expect(decorations(doc, start + 3)).toEqual([{ from: start, to: end, replaced: false }]);
  });

  it('finds the link at a position', () => {
    const link = formatNoteLink(A, 'Plan');
    const state = EditorState.create({ doc: `x ${link}` });
    expect(linkAt(state, 2)?.targetId).toBe(A);
    expect(linkAt(state, 2 + link.length)?.targetId).toBe(A);
    expect(linkAt(state, 0)).toBeUndefined();
  });

  it('completes [[ with matching titles and offers to create a new one', () => {
    const complete = (doc: string, h = host()) => {
      const state = EditorState.create({ doc });
      return linkCompletions(new CompletionContext(state, doc.length, false), h);
    };
    expect(complete('no trigger here')).toBeNull();
    expect(complete('[single')).toBeNull();
    const result = complete('text [[proj');
    expect(result?.from).toBe('text [['.length);
    expect(result?.filter).toBe(false);
    expect(result?.options.map((o) => o.label)).toEqual([
      'Project plan',
      'Weekly project review',
      'Create note “proj”',
    ]);
    // An exact title is not offered for creation again.
    expect(complete('[[groceries')?.options.map((o) => o.label)).toEqual(['Groceries']);
    // Read-only: nothing to create.
    const { create: _, ...readOnly } = host();
    expect(complete('[[new idea', readOnly)?.options).toEqual([]);
    // Just "[[": every note, most recent first.
    expect(complete('[[')?.options).toHaveLength(3);
  });

  it('re-reads link targets on refresh, and skips the refresh for a note without links', () => {
    const titles = new Map([[A, 'Old title']]);
    const live = host({
      resolve: (id) => {
        const title = titles.get(id);
        return title === undefined ? undefined : { title, trashed: false };
      },
    });
    const shownTitles = (state: EditorState) => {
      const shown: string[] = [];
      for (const set of state.facet(EditorView.decorations)) {
        if (typeof set === 'function') continue;
        set.between(0, state.doc.length, (_from, _to, value) => {
          const widget = value.spec.widget as { title?: string } | undefined;
          if (widget?.title !== undefined) shown.push(widget.title);
        });
      }
      return shown;
    };
    const linked = EditorState.create({
      doc: `see ${formatNoteLink(A, 'Old title')}`,
      extensions: wikiLinks(live),
    });
    titles.set(A, 'New title');
    expect(shownTitles(linked)).toEqual(['Old title']);
    expect(shownTitles(refreshLinks(linked))).toEqual(['New title']);
    // No link: nothing to re-read, the state is handed back as it is.
    const plain = EditorState.create({ doc: 'no [links] here', extensions: wikiLinks(live) });
    expect(refreshLinks(plain)).toBe(plain);
  });
});
