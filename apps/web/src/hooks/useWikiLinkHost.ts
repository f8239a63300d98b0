import type { NoteStore } from '@lattice/notes';
import { useMemo } from 'react';
import { matchTitles, type WikiLinkHost } from '../editor/wikiLinks.ts';
import { navigate } from '../lib/navigate.ts';
import { workspacePath } from '../workspace/routes.ts';

/**
 * The editor's view of the workspace for links between notes: titles to
 * offer (every note but `noteId` and the trash), what a link points at now,
 * and how to open or create a note. Stable per store, note and access.
 */
export function useWikiLinkHost(store: NoteStore, noteId: string, readOnly: boolean): WikiLinkHost {
  return useMemo(
    () => ({
      candidates: (query) =>
        matchTitles(
          store
            .list()
            .filter((note) => note.id !== noteId)
            .map((note) => ({ id: note.id, title: note.title })),
          query,
        ),
      resolve: (id) => {
        const note = store.get(id);
        return note === undefined
          ? undefined
          : { title: note.title, trashed: note.trashedAt !== null };
      },
      open: (id) => navigate(workspacePath(store.workspaceId, id)),
      ...(readOnly ? {} : { create: (title: string) => store.create({ title }) }),
      subscribe: (listener) => store.subscribe(listener),
    }),
    [store, noteId, readOnly],
  );
}
