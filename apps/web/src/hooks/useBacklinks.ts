import type { Backlink, NoteStore } from '@lattice/notes';
import { useMemo } from 'react';
import { useStoreVersion } from './useStoreVersion.ts';

/** The notes linking to `noteId`, kept current. */
export function useBacklinks(store: NoteStore, noteId: string): Backlink[] {
  const version = useStoreVersion(store);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version stands for the store's contents
  return useMemo(() => store.backlinks(noteId), [store, noteId, version]);
}
