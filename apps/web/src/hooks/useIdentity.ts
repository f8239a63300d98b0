import { useCallback, useMemo } from 'react';
import { IDENTITY_KEY, type Identity, loadIdentity, saveIdentity } from '../workspace/identity.ts';
import { notifyLocalStorage, useLocalStorageKey } from './useLocalStorageKey.ts';

/** This person's display name and colour, persisted and shared by every tab. */
export function useIdentity(): [Identity, (next: Identity) => void] {
  const raw = useLocalStorageKey(IDENTITY_KEY);
  // biome-ignore lint/correctness/useExhaustiveDependencies: raw is the stored value loadIdentity reads
  const identity = useMemo(() => loadIdentity(window.localStorage), [raw]);
  const update = useCallback((next: Identity) => {
    saveIdentity(window.localStorage, next);
    notifyLocalStorage(IDENTITY_KEY);
  }, []);
  return [identity, update];
}
