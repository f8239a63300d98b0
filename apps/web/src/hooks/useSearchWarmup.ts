import type { NoteStore } from '@lattice/notes';
import { useEffect } from 'react';
import { useStoreVersion } from './useStoreVersion.ts';

/** Longest slice of tokenizing per idle period, so typing and scrolling never wait on it. */
const SLICE_MS = 8;

/**
 * Prepares the search index in idle time (`NoteStore.prepareSearch`), after
 * start-up and after changes arrive, so the first search keystroke costs what
 * the others do (with 5,000 notes it otherwise paid over a second of
 * tokenizing). Without `requestIdleCallback` a short timer stands in.
 */
export function useSearchWarmup(store: NoteStore): void {
  const version = useStoreVersion(store);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version stands for the store's contents
  useEffect(() => {
    let cancelled = false;
    let idleHandle: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      if (typeof window.requestIdleCallback === 'function') {
        idleHandle = window.requestIdleCallback(step);
      } else {
        timer = setTimeout(() => step(null), 50);
      }
    };
    const step = (deadline: IdleDeadline | null) => {
      if (cancelled) return;
      const budget = deadline === null ? SLICE_MS : Math.min(SLICE_MS, deadline.timeRemaining());
      if (store.prepareSearch(budget)) schedule();
    };
    schedule();
    return () => {
      cancelled = true;
      if (idleHandle !== undefined) window.cancelIdleCallback(idleHandle);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [store, version]);
}
