import { useMemo, useSyncExternalStore } from 'react';
import { currentPath, NAVIGATE_EVENT } from '../lib/navigate.ts';
import { parseRoute, type Route } from '../workspace/routes.ts';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

/**
 * The parsed route of the current URL, updated on back/forward and `navigate`
 * (at once, ahead of the address bar: see `navigate`).
 */
export function useRoute(): Route {
  const pathname = useSyncExternalStore(subscribe, currentPath);
  return useMemo(() => parseRoute(pathname), [pathname]);
}
