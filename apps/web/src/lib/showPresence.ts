import type { Awareness } from 'y-protocols/awareness';

/** Panes showing each note's awareness (a note can be closed and reopened within a task). */
const presenceShown = new WeakMap<Awareness, number>();

/**
 * Counts a pane showing `awareness`; the returned cleanup clears this
 * person's state (name, cursor) once no pane shows it. The doc may stay open
 * after its pane closes (warmed for the list), and leaving must not leave a
 * name and cursor showing in it for others. Cleared one task later, off the
 * click that opens the next note.
 */
export function showPresence(awareness: Awareness): () => void {
  presenceShown.set(awareness, (presenceShown.get(awareness) ?? 0) + 1);
  return () => {
    const left = (presenceShown.get(awareness) ?? 1) - 1;
    presenceShown.set(awareness, left);
    setTimeout(() => {
      // A destroyed awareness (doc released) has no local state to clear.
      if ((presenceShown.get(awareness) ?? 0) === 0 && awareness.getLocalState() !== null) {
        awareness.setLocalState({});
      }
    }, 0);
  };
}
