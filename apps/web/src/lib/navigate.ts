/** Fired on `window` after `navigate` changed the URL (history.pushState fires nothing by itself). */
export const NAVIGATE_EVENT = 'lattice:navigate';

/**
 * Moves to `path` inside the app without a reload. The query string is kept
 * so a dev override such as `?relay=` survives navigation.
 */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (window.location.pathname === path) return;
  const url = `${path}${window.location.search}`;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}
