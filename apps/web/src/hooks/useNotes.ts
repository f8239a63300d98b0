import type { NoteStore, NoteSummary } from '@lattice/notes';
import { useMemo } from 'react';
import { useStoreVersion } from './useStoreVersion.ts';

/** The sidebar's notes: the list (newest first) or, with a query, the search hits. */
export function useNotes(
  store: NoteStore,
  options: { trashed: boolean; query: string },
): { notes: NoteSummary[]; trashCount: number } {
  const version = useStoreVersion(store);
  const { trashed, query } = options;
  const trimmed = query.trim();
  // biome-ignore lint/correctness/useExhaustiveDependencies: version stands for the store's contents
  return useMemo(
    () => ({
      notes: trimmed === '' ? store.list({ trashed }) : store.search(trimmed, { trashed }),
      trashCount: store.list({ trashed: true }).length,
    }),
    [store, version, trashed, trimmed],
  );
}

/** One note's summary, kept current; `undefined` while it is not (or no longer) in the index. */
export function useNoteSummary(store: NoteStore, id: string): NoteSummary | undefined {
  const version = useStoreVersion(store);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version stands for the store's contents
  return useMemo(() => store.get(id), [store, id, version]);
}
