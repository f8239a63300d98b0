import { useEffect, useReducer } from 'react';
import type { Preload } from '../lib/preload.ts';

/** Starts loading `module` on mount and re-renders once it is loaded or failed. */
export function usePreloaded<T>(module: Preload<T>): {
  value: T | undefined;
  error: Error | undefined;
} {
  const [, loaded] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (module.value !== undefined) return;
    let active = true;
    module.load().then(
      () => {
        if (active) loaded();
      },
      () => {
        if (active) loaded();
      },
    );
    return () => {
      active = false;
    };
  }, [module]);
  return { value: module.value, error: module.error };
}
