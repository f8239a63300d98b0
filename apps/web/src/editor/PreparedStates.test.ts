import { syntaxTree } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { formatNoteLink } from '@lattice/notes';
import { afterEach, describe, expect, it } from 'vitest';
import { ySyncFacet } from 'y-codemirror.next';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { WikiLinkHost } from './linkHost.ts';
import { type NoteEditorConfig, noteEditorState } from './noteEditorState.ts';
import { PreparedStates } from './PreparedStates.ts';

const docs: Y.Doc[] = [];
afterEach(() => {
  for (const doc of docs.splice(0)) doc.destroy();
});

function note(text: string): NoteEditorConfig {
  const doc = new Y.Doc();
  docs.push(doc);
  const body = doc.getText('body');
  body.insert(0, text);
  return { body, awareness: new Awareness(doc), readOnly: false, links: undefined };
}

/** Another replica's edit of `config`'s doc, applied as the relay or another tab would. */
function remoteAppend(config: NoteEditorConfig, text: string): void {
  const doc = config.body.doc as Y.Doc;
  const other = new Y.Doc();
  docs.push(other);
  Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
  const body = other.getText('body');
  body.insert(body.length, text);
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)), 'relay');
}

describe('PreparedStates', () => {
  it('hands out the prepared state, parsed and bound to its own note', () => {
    const states = new PreparedStates(noteEditorState);
    const a = note('# A\n\nsome *text*\n');
    const b = note('# B\n\n- a list\n');
    states.prepare(a);
    states.prepare(b);
    expect(states.ready).toEqual([a.body, b.body]);
    const prepared = states.ready.length;
    const taken = states.take(b);
    expect(states.ready).toEqual([a.body]);
    expect(prepared).toBe(2);
    expect(taken.state.doc.toString()).toBe('# B\n\n- a list\n');
    expect(taken.state.facet(ySyncFacet).ytext).toBe(b.body);
    expect(taken.undoManager.scope).toEqual([b.body]);
    // The Markdown parse is done already: the whole doc is in the tree.
    expect(syntaxTree(taken.state).length).toBe(taken.state.doc.length);
  });

  it('never shows text older than the doc: a change after preparing makes a fresh state', () => {
    const states = new PreparedStates(noteEditorState);
    const a = note('before');
    states.prepare(a);
    remoteAppend(a, ' and after');
    const taken = states.take(a);
    expect(taken.state.doc.toString()).toBe('before and after');
    expect(taken.state.facet(ySyncFacet).ytext).toBe(a.body);
    expect(states.ready).toEqual([]);
  });

  it('starts the undo history empty, and each note undoes only its own edits', () => {
    const states = new PreparedStates(noteEditorState);
    const a = note('alpha');
    const b = note('beta');
    states.prepare(a);
    states.prepare(b);
    // Untracked-origin edits that leave B's text as it was: the state stays valid…
    b.body.insert(0, 'x');
    (b.body.doc as Y.Doc).transact(() => b.body.delete(0, 1));
    const tb = states.take(b);
    const ta = states.take(a);
    // …but none of that is this editor's to undo.
    expect(tb.undoManager.undoStack).toHaveLength(0);
    expect(tb.state.doc.toString()).toBe('beta');
    // A local edit of A (untracked origin, as tracked as the binding's own) is on A's stack only.
    a.body.insert(5, '!');
    expect(ta.undoManager.undoStack).toHaveLength(1);
    expect(tb.undoManager.undoStack).toHaveLength(0);
    tb.undoManager.undo();
    expect(a.body.toString()).toBe('alpha!');
    ta.undoManager.undo();
    expect(a.body.toString()).toBe('alpha');
    expect(b.body.toString()).toBe('beta');
  });

  it("shows links with their targets' titles as they are when taken, not when prepared", () => {
    const states = new PreparedStates(noteEditorState);
    const titles = new Map([['target', 'Old title']]);
    const links: WikiLinkHost = {
      candidates: () => [],
      resolve: (id) => {
        const title = titles.get(id);
        return title === undefined ? undefined : { title, trashed: false };
      },
      open: () => {},
      subscribe: () => () => {},
    };
    const a = { ...note(`see ${formatNoteLink('target', 'Old title')} here`), links };
    states.prepare(a);
    titles.set('target', 'New title');
    const taken = states.take(a);
    const shown: string[] = [];
    for (const set of taken.state.facet(EditorView.decorations)) {
      if (typeof set === 'function') continue;
      set.between(0, taken.state.doc.length, (_from, _to, value) => {
        const widget = value.spec.widget as { title?: string } | undefined;
        if (widget?.title !== undefined) shown.push(widget.title);
      });
    }
    expect(shown).toEqual(['New title']);
  });

  it('makes a fresh state when the editor is configured differently', () => {
    const states = new PreparedStates(noteEditorState);
    const a = note('text');
    states.prepare(a);
    const taken = states.take({ ...a, readOnly: true });
    expect(taken.state.facet(EditorState.readOnly)).toBe(true);
    expect(states.ready).toEqual([]);
  });

  it('prepares nothing for a shown note, keeps at most its capacity, and forgets', () => {
    const states = new PreparedStates(noteEditorState, 2);
    const [a, b, c] = [note('a'), note('b'), note('c')] as const;
    const shown = states.take(a);
    expect(states.needs(a.body)).toBe(false);
    states.prepare(a);
    expect(states.ready).toEqual([]);
    states.release(a.body);
    shown.undoManager.destroy();
    expect(states.needs(a.body)).toBe(true);
    states.prepare(a);
    states.prepare(b);
    states.prepare(c);
    // The oldest is dropped, its undo manager with it (no observer left on its doc).
    expect(states.ready).toEqual([b.body, c.body]);
    states.forget(b.body);
    expect(states.ready).toEqual([c.body]);
    expect(states.needs(b.body)).toBe(true);
  });
});
