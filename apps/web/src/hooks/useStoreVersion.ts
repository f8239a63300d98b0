import type { NoteStore } from '@lattice/notes';
import { useMemo, useSyncExternalStore } from 'react';
import { perFrame } from '../lib/perFrame.ts';

/**
 * A number that changes whenever `store` reports a change. `list()` and
 * `search()` build new arrays on every call, so components derive them from
 * this version (with useMemo) instead of handing them to useSyncExternalStore.
 * At most once per frame (the first change of a burst at once): a fresh
 * device indexes its notes one by one, and a render per note re-sorted the
 * whole list each time (bench `coldload`).
 */
export function useStoreVersion(store: NoteStore): number {
  const source = useMemo(() => {
    let version = 0;
    return {
      subscribe: (onChange: () => void) => {
        const changed = perFrame(() => {
          version++;
          onChange();
        });
        const off = store.subscribe(changed);
        return () => {
          off();
          changed.cancel();
        };
      },
      getSnapshot: () => version,
    };
  }, [store]);
  return useSyncExternalStore(source.subscribe, source.getSnapshot);
}
