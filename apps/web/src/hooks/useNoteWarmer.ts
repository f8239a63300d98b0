import type { NoteHandle, NoteStore } from '@lattice/notes';
import { useEffect, useMemo, useRef, useState } from 'react';
import { editorModule } from '../components/editorModule.ts';
import { type NotePreparer, NoteWarmer } from '../lib/NoteWarmer.ts';
import { wikiLinkHost } from './useWikiLinkHost.ts';

/** What the view tells the warmer: the rows in view, and that the first screen is up. */
export interface NoteWarming {
  warm(ids: readonly string[]): void;
  /** Opens the top `count` rows at once (see `NoteWarmer.warmFirst`); nothing without a warmer yet. */
  warmFirst(count: number): void;
  start(): void;
}

/**
 * The editor state of a held note, made in idle time (`PreparedStates`) with
 * exactly what its pane will give the editor: its body, awareness, access and
 * link host. Only once the editor's module is here (a note has been opened):
 * loading CodeMirror for it would compete with a fresh device's sync.
 */
function editorPreparer(store: NoteStore, readOnly: () => boolean): NotePreparer {
  const configOf = (handle: NoteHandle) => ({
    body: handle.body,
    awareness: handle.awareness,
    readOnly: readOnly(),
    links: wikiLinkHost(store, handle.id, readOnly()),
  });
  return {
    needs: (handle) =>
      !handle.arriving && (editorModule.value?.preparedStates.needs(handle.body) ?? false),
    prepare: (handle) => editorModule.value?.preparedStates.prepare(configOf(handle)),
    forget: (handle) => editorModule.value?.preparedStates.forget(handle.body),
  };
}

/**
 * The store's warmer of the notes in view (`NoteWarmer`), created by an effect
 * so that its cleanup (unmount, a new store, StrictMode's remount) releases
 * every note it holds. Before it exists, the last window and start are kept.
 */
export function useNoteWarmer(store: NoteStore, readOnly = false): NoteWarming {
  const [warmer, setWarmer] = useState<NoteWarmer | null>(null);
  const pending = useMemo(() => ({ ids: [] as readonly string[], started: false }), []);
  const readOnlyNow = useRef(readOnly);
  readOnlyNow.current = readOnly;
  useEffect(() => {
    const created = new NoteWarmer(store, {
      preparer: editorPreparer(store, () => readOnlyNow.current),
    });
    created.want(pending.ids);
    if (pending.started) created.start();
    setWarmer(created);
    return () => created.dispose();
  }, [store, pending]);
  const live = warmer !== null && warmer.store === store && !warmer.disposed ? warmer : null;
  return useMemo(
    () => ({
      warm(ids: readonly string[]) {
        pending.ids = ids;
        live?.want(ids);
      },
      warmFirst(count: number) {
        void live?.warmFirst(count);
      },
      start() {
        pending.started = true;
        live?.start();
      },
    }),
    [live, pending],
  );
}
