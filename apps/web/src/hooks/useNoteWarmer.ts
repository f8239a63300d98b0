import type { NoteStore } from '@lattice/notes';
import { useEffect, useMemo, useState } from 'react';
import { NoteWarmer } from '../lib/NoteWarmer.ts';

/** What the view tells the warmer: the rows in view, and that the first screen is up. */
export interface NoteWarming {
  warm(ids: readonly string[]): void;
  /** Opens the top `count` rows at once (see `NoteWarmer.warmFirst`); nothing without a warmer yet. */
  warmFirst(count: number): void;
  start(): void;
}

/**
 * The store's warmer of the notes in view (`NoteWarmer`), created by an effect
 * so that its cleanup (unmount, a new store, StrictMode's remount) releases
 * every note it holds. Before it exists, the last window and start are kept.
 */
export function useNoteWarmer(store: NoteStore): NoteWarming {
  const [warmer, setWarmer] = useState<NoteWarmer | null>(null);
  const pending = useMemo(() => ({ ids: [] as readonly string[], started: false }), []);
  useEffect(() => {
    const created = new NoteWarmer(store);
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
