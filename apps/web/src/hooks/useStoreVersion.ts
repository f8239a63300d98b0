import type { NoteStore } from '@lattice/notes';
import { useMemo, useSyncExternalStore } from 'react';

/**
 * A number that changes whenever `store` reports a change. `list()` and
 * `search()` build new arrays on every call, so components derive them from
 * this version (with useMemo) instead of handing them to useSyncExternalStore.
 */
export function useStoreVersion(store: NoteStore): number {
  const source = useMemo(() => {
    let version = 0;
    return {
      subscribe: (onChange: () => void) =>
        store.subscribe(() => {
          version++;
          onChange();
        }),
      getSnapshot: () => version,
    };
  }, [store]);
  return useSyncExternalStore(source.subscribe, source.getSnapshot);
}
