import type { NoteStore } from '@lattice/notes';
import { useMemo } from 'react';
import { matchTitles, type WikiLinkHost } from '../editor/linkHost.ts';
import { navigate } from '../lib/navigate.ts';
import { workspacePath } from '../workspace/routes.ts';

/** Hosts by store, then note and access: one object each, so an editor state made ahead matches its pane's. */
const hosts = new WeakMap<NoteStore, Map<string, WikiLinkHost>>();

/**
 * The editor's view of the workspace for links between notes: titles to
 * offer (every note but `noteId` and the trash), what a link points at now,
 * and how to open or create a note. The same object per store, note and
 * access, whoever asks (a pane, or an editor state prepared in idle time).
 */
export function useWikiLinkHost(store: NoteStore, noteId: string, readOnly: boolean): WikiLinkHost {
  return useMemo(() => wikiLinkHost(store, noteId, readOnly), [store, noteId, readOnly]);
}

/** See `useWikiLinkHost`. */
export function wikiLinkHost(store: NoteStore, noteId: string, readOnly: boolean): WikiLinkHost {
  let byNote = hosts.get(store);
  if (byNote === undefined) {
    byNote = new Map();
    hosts.set(store, byNote);
  }
  const key = `${readOnly ? 'r' : 'w'}:${noteId}`;
  let host = byNote.get(key);
  if (host === undefined) {
    host = makeHost(store, noteId, readOnly);
    byNote.set(key, host);
  }
  return host;
}

function makeHost(store: NoteStore, noteId: string, readOnly: boolean): WikiLinkHost {
  return {
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
  };
}
