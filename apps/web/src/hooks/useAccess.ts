import { useCallback, useSyncExternalStore } from 'react';
import type { AccessView, WorkspaceAccess } from '../workspace/WorkspaceAccess.ts';

/** The open workspace's access view (role, refusal, read-only, owner token), live. */
export function useAccess(access: WorkspaceAccess): AccessView {
  const subscribe = useCallback((listener: () => void) => access.subscribe(listener), [access]);
  return useSyncExternalStore(subscribe, () => access.view);
}
