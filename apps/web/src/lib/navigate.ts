import { parseRoute } from '../workspace/routes.ts';
import { afterPaint } from './afterPaint.ts';

/** Fired on `window` when `navigate` changed the route (history.pushState fires nothing by itself). */
export const NAVIGATE_EVENT = 'lattice:navigate';

/** How long a deferred address-bar update waits at most when no frame comes (a hidden page). */
const LATEST_MS = 50;

interface Pending {
  path: string;
  url: string;
  replace: boolean;
}

/**
 * The route moved to but not yet written to the history. `pushState` cost
 * 1.7–4.2 ms inside the click handler, before React could show the clicked
 * note (bench `coldload`), so the address bar follows the route after the
 * next frame instead of before it.
 */
let pending: Pending | null = null;

/** The app's current path: the route moved to, even while the address bar has not caught up. */
export function currentPath(): string {
  return pending?.path ?? window.location.pathname;
}

/** The workspace a path is in, if any. */
function workspaceOf(path: string): string | null {
  const route = parseRoute(path);
  return route.kind === 'workspace' ? route.workspaceId : null;
}

/**
 * Moves to `path` inside the app without a reload. The route (`useRoute`)
 * changes at once. Between notes of one workspace the history entry is
 * written after the next frame, so a click shows its note first; any other
 * move (home, another workspace: an open follows anyway) is written at once.
 * Entries keep their order and push/replace kind: an earlier move still
 * waiting is written before this one. The query string is kept so a dev
 * override such as `?relay=` survives navigation.
 */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const from = currentPath();
  if (from === path) return;
  flushNavigation();
  const move: Pending = {
    path,
    url: `${path}${window.location.search}`,
    replace: options.replace === true,
  };
  pending = move;
  const workspace = workspaceOf(path);
  if (workspace !== null && workspace === workspaceOf(from)) {
    afterPaint(() => {
      if (pending === move) flushNavigation();
    }, LATEST_MS);
  } else {
    flushNavigation();
  }
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

/** Writes a move still waiting to the history now (e.g. before reading `location`). */
export function flushNavigation(): void {
  const move = pending;
  if (move === null) return;
  pending = null;
  if (move.replace) window.history.replaceState(null, '', move.url);
  else window.history.pushState(null, '', move.url);
}

// Back/forward while a move waits (within a frame of it): the browser moved
// from the entry it knows, so the move is dropped and the route follows the
// address bar again. Registered at module load, so it runs before `useRoute`
// reads the path on the same event.
if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => {
    pending = null;
  });
}
