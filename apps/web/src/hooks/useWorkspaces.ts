import { useMemo } from 'react';
import { readWorkspaces, WORKSPACES_KEY, type WorkspaceEntry } from '../workspace/workspaces.ts';
import { useLocalStorageKey } from './useLocalStorageKey.ts';

/** The workspaces this browser holds, live across tabs. */
export function useWorkspaces(): WorkspaceEntry[] {
  const raw = useLocalStorageKey(WORKSPACES_KEY);
  // biome-ignore lint/correctness/useExhaustiveDependencies: raw is the stored value readWorkspaces reads
  return useMemo(() => readWorkspaces(window.localStorage), [raw]);
}
