import type { NoteHandle, NoteStore } from '@lattice/notes';
import { useLayoutEffect, useState } from 'react';

/** The open note's live handle, released when the note closes; `null` while loading or when `id` is null. */
export function useNoteHandle(
  store: NoteStore,
  id: string | null,
): { handle: NoteHandle | null; error: string | null } {
  const [state, setState] = useState<{ handle: NoteHandle | null; error: string | null }>({
    handle: null,
    error: null,
  });
  // A layout effect: a note already held open (warmed from the list) renders
  // with its text before the browser paints, the click starting no I/O.
  useLayoutEffect(() => {
    if (id === null) {
      setState({ handle: null, error: null });
      return;
    }
    let active = true;
    let opened: NoteHandle | null = null;
    let ready: NoteHandle | null = null;
    try {
      ready = store.openNoteIfOpen(id);
    } catch (error) {
      setState({ handle: null, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (ready !== null) {
      opened = ready;
      setState({ handle: ready, error: null });
    } else {
      setState({ handle: null, error: null });
      store.openNote(id).then(
        (handle) => {
          if (!active) {
            handle.release();
            return;
          }
          opened = handle;
          setState({ handle, error: null });
        },
        (error: unknown) => {
          if (active) {
            setState({
              handle: null,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        },
      );
    }
    return () => {
      active = false;
      const held = opened;
      // After the next note's open has started (its effect runs right after this
      // cleanup): releasing indexes and disposes this doc, which delayed the next
      // note's storage read on every click (bench `coldload`).
      if (held !== null) setTimeout(() => held.release(), 0);
    };
  }, [store, id]);
  return state;
}
