import type { NoteHandle } from '@lattice/notes';
import { useEffect, useState } from 'react';

/**
 * Whether the open note is still arriving: its doc does not yet cover what
 * the index entry says it should hold. The open handle knows best; before it
 * exists, the list's summary (`listed`) answers.
 */
export function useArriving(handle: NoteHandle | null, listed: boolean): boolean {
  const [arrived, setArrived] = useState<NoteHandle | null>(null);
  useEffect(() => {
    if (!handle?.arriving) return;
    let active = true;
    handle.whenArrived().then(
      () => {
        if (active) setArrived(handle);
      },
      // Released or closed before it arrived: nothing left to show.
      () => undefined,
    );
    return () => {
      active = false;
    };
  }, [handle]);
  if (!handle) return listed;
  return handle.arriving && arrived !== handle;
}
