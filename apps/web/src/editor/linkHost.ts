/**
 * What the editor's `[[` links need from the workspace, without CodeMirror:
 * the app's main bundle imports these (the list's hooks), and importing them
 * from `wikiLinks.ts` put all of CodeMirror in it (issue 6, tenth round).
 */

/** A note that can be linked to. */
export interface LinkCandidate {
  id: string;
  title: string;
}

/** What a link points at now. */
export interface LinkTargetState {
  title: string;
  trashed: boolean;
}

/** What the editor needs from the workspace to show and make links. */
export interface WikiLinkHost {
  /** Notes (not trashed) whose title matches `query`, best first. */
  candidates(query: string): LinkCandidate[];
  /** The note `id` as it is now; `undefined` when it is not in the workspace (purged, never arrived). */
  resolve(id: string): LinkTargetState | undefined;
  open(id: string): void;
  /** Creates a note titled `title` and returns its id; absent when notes cannot be created here. */
  create?: (title: string) => Promise<string>;
  /** Calls `listener` whenever a title or trash state may have changed. */
  subscribe(listener: () => void): () => void;
}

/** Options shown by `[[` autocomplete at most. */
export const MAX_LINK_OPTIONS = 20;

/**
 * Notes to offer for `query`: titles starting with it first, then titles with
 * a word starting with it, then titles containing it (case-insensitive),
 * each group in the given (recency) order. An empty query offers the first notes.
 */
export function matchTitles(
  notes: readonly LinkCandidate[],
  query: string,
  limit = MAX_LINK_OPTIONS,
): LinkCandidate[] {
  const q = query.trim().toLowerCase();
  if (q === '') return notes.slice(0, limit);
  const groups: LinkCandidate[][] = [[], [], []];
  for (const note of notes) {
    const title = (note.title.trim() || 'Untitled').toLowerCase();
    const at = title.indexOf(q);
    if (at === -1) continue;
    const group = at === 0 ? 0 : title.split(/\s+/).some((word) => word.startsWith(q)) ? 1 : 2;
    groups[group]?.push(note);
  }
  return groups.flat().slice(0, limit);
}
