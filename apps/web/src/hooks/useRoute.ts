import { useMemo, useSyncExternalStore } from 'react';
import { NAVIGATE_EVENT } from '../lib/navigate.ts';
import { parseRoute, type Route } from '../workspace/routes.ts';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

/** The parsed route of the current URL, updated on back/forward and `navigate`. */
export function useRoute(): Route {
  const pathname = useSyncExternalStore(subscribe, () => window.location.pathname);
  return useMemo(() => parseRoute(pathname), [pathname]);
}
