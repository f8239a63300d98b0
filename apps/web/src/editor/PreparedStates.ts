import { ensureSyntaxTree } from '@codemirror/language';
import type * as Y from 'yjs';
import type { NoteEditorConfig, NoteEditorState } from './noteEditorState.ts';
import { refreshLinks } from './wikiLinks.ts';

/** Editor states kept ready at most: as many as the list holds open (`WARM_CAPACITY`). */
export const PREPARED_CAPACITY = 32;

/** Parsing beyond the first screen, per prepared note (ms): idle time, not the click's. */
const PARSE_BUDGET_MS = 8;

interface Prepared extends NoteEditorState {
  config: NoteEditorConfig;
  /** The body's text the state was made from: a state is only handed out while they match. */
  text: string;
}

/**
 * Editor states made ahead of the click for notes held open (warm) in the
 * list, so opening one only hands its state to the spare view: making the
 * state — mostly parsing the note's Markdown — was about a third of the
 * editor's work on the click (bench `coldload`, click profile).
 *
 * A prepared state is the one the editor would make itself: the same
 * extensions, bound to the note's own `Y.Text`, awareness and undo manager.
 * It is a snapshot, though: `take` hands it out only while the body's text
 * is still the one it was made from (a relay, another tab or a restore may
 * have changed the doc since) and makes a fresh state otherwise; its links
 * re-read their targets' titles, and the undo history starts empty.
 */
export class PreparedStates {
  readonly #make: (config: NoteEditorConfig) => NoteEditorState;
  readonly #capacity: number;
  /** Ready states by body, least recently prepared first. */
  readonly #ready = new Map<Y.Text, Prepared>();
  /** Bodies an editor shows now: preparing another state for them is wasted work. */
  readonly #shown = new Map<Y.Text, number>();

  constructor(
    make: (config: NoteEditorConfig) => NoteEditorState,
    capacity: number = PREPARED_CAPACITY,
  ) {
    this.#make = make;
    this.#capacity = capacity;
  }

  /** Whether a state for `body` would be new work (none ready, none shown). */
  needs(body: Y.Text): boolean {
    return !this.#ready.has(body) && !this.#shown.has(body) && this.#capacity > 0;
  }

  /** Makes `config`'s state now (idle time), parsing its Markdown within a budget. */
  prepare(config: NoteEditorConfig): void {
    if (!this.needs(config.body)) return;
    const text = config.body.toString();
    const made = this.#make(config);
    ensureSyntaxTree(made.state, made.state.doc.length, PARSE_BUDGET_MS);
    this.#ready.set(config.body, { ...made, config, text });
    for (const [body, prepared] of this.#ready) {
      if (this.#ready.size <= this.#capacity) break;
      this.#ready.delete(body);
      prepared.undoManager.destroy();
    }
  }

  /**
   * The state for an editor about to show `config`'s note: the prepared one
   * when it was made for the same config and the text has not changed since,
   * else a fresh one. The body counts as shown until `release`.
   */
  take(config: NoteEditorConfig): NoteEditorState {
    this.#shown.set(config.body, (this.#shown.get(config.body) ?? 0) + 1);
    const prepared = this.#ready.get(config.body);
    if (prepared !== undefined) {
      this.#ready.delete(config.body);
      const same =
        prepared.config.awareness === config.awareness &&
        prepared.config.readOnly === config.readOnly &&
        prepared.config.links === config.links &&
        prepared.text === config.body.toString();
      if (same) {
        // Whatever reached the body before the editor existed is not this editor's to undo.
        prepared.undoManager.clear();
        // Its links show their targets as they are now (a note renamed or trashed since).
        return { state: refreshLinks(prepared.state), undoManager: prepared.undoManager };
      }
      prepared.undoManager.destroy();
    }
    return this.#make(config);
  }

  /** The editor showing `body` closed (its undo manager is the editor's to destroy). */
  release(body: Y.Text): void {
    const shown = (this.#shown.get(body) ?? 1) - 1;
    if (shown > 0) this.#shown.set(body, shown);
    else this.#shown.delete(body);
  }

  /** Drops `body`'s ready state (its note is no longer held open). */
  forget(body: Y.Text): void {
    const prepared = this.#ready.get(body);
    if (prepared === undefined) return;
    this.#ready.delete(body);
    prepared.undoManager.destroy();
  }

  /** Bodies with a state ready, least recently prepared first; for tests and diagnostics. */
  get ready(): Y.Text[] {
    return [...this.#ready.keys()];
  }
}
