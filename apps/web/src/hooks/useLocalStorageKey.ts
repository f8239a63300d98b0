import { useCallback, useSyncExternalStore } from 'react';

/** Fired on `window` when this tab changed a key (the `storage` event only reports other tabs). */
export const LOCAL_STORAGE_EVENT = 'lattice:local-storage';

/** Tells hooks in this tab that `key` was written. */
export function notifyLocalStorage(key: string): void {
  window.dispatchEvent(new CustomEvent(LOCAL_STORAGE_EVENT, { detail: key }));
}

/** The raw value of a localStorage key, live across this tab and others. */
export function useLocalStorageKey(key: string): string | null {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const onStorage = (event: StorageEvent) => {
        if (event.key === key || event.key === null) onChange();
      };
      const onLocal = (event: Event) => {
        if ((event as CustomEvent<string>).detail === key) onChange();
      };
      window.addEventListener('storage', onStorage);
      window.addEventListener(LOCAL_STORAGE_EVENT, onLocal);
      return () => {
        window.removeEventListener('storage', onStorage);
        window.removeEventListener(LOCAL_STORAGE_EVENT, onLocal);
      };
    },
    [key],
  );
  return useSyncExternalStore(subscribe, () => window.localStorage.getItem(key));
}
