// First: marks when the app starts (cold-load benchmark), before other modules evaluate.
import './lib/appStart.ts';
import { registerSW } from 'virtual:pwa-register';
import { newId } from '@lattice/notes';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { notifyLocalStorage } from './hooks/useLocalStorageKey.ts';
import { currentPath } from './lib/navigate.ts';
import './styles.css';
import { readSessionFragment, takeFragmentParam } from './lib/sessionLink.ts';
import { whenStartupQuiet } from './lib/startupQuiet.ts';
import { AuthApi, apiBaseOf } from './workspace/AuthApi.ts';
import { loadIdentity } from './workspace/identity.ts';
import { relayUrls } from './workspace/relays.ts';
import { parseRoute } from './workspace/routes.ts';
import { TOKEN_FRAGMENT_KEY } from './workspace/tokens.ts';
import { WorkspaceController } from './workspace/WorkspaceController.ts';
import { type OpeningPreview, WorkspaceSession } from './workspace/WorkspaceSession.ts';
import {
  readWorkspaces,
  rememberToken,
  rememberWorkspace,
  WORKSPACES_KEY,
} from './workspace/workspaces.ts';

let relays: string[];
let warning: string | null = null;
/** Set when the app follows the relay that served it: then it learns that relay's cluster. */
let cluster: { servedUrl: string; apiUrl: string } | undefined;
try {
  relays = relayUrls(window.location);
  const served = relays[0];
  if (!new URLSearchParams(window.location.search).has('relay') && served !== undefined) {
    cluster = { servedUrl: served, apiUrl: `${window.location.origin}/api/cluster` };
  }
} catch (error) {
  // A bad dev override must not cost the person their notes: work locally and say why.
  relays = [];
  warning = `${error instanceof Error ? error.message : String(error)} — working on this device only.`;
}

// A shared link may carry the session that made it (`#session=…`, see CopyLinkButton): it
// belongs to the workspace in the link's path, and leaves the address bar at once so a
// bookmark or a copied address does not keep it.
const linked = readSessionFragment(window.location.hash);
// A share link (`#token=<jwt>`) grants access to the workspace in its path: kept with that
// workspace, and out of the address bar at once (history, bookmarks, screen shares).
const shared = takeFragmentParam(linked.rest, TOKEN_FRAGMENT_KEY);
const startRoute = parseRoute(window.location.pathname);
const linkSession =
  linked.token !== null && startRoute.kind === 'workspace'
    ? { workspaceId: startRoute.workspaceId, token: linked.token }
    : null;
if (shared.token !== null && startRoute.kind === 'workspace') {
  rememberToken(window.localStorage, startRoute.workspaceId, shared.token, Date.now());
}
if (linked.token !== null || shared.token !== null) {
  const { pathname, search } = window.location;
  window.history.replaceState(window.history.state, '', `${pathname}${search}${shared.rest}`);
}

let authApi: AuthApi | null = null;
try {
  authApi = relays[0] === undefined ? null : new AuthApi(apiBaseOf(relays[0]));
} catch (error) {
  warning ??= `${error instanceof Error ? error.message : String(error)}: sharing is unavailable.`;
}

/** Access options for a workspace, from what this browser stored about it. */
function authFor(workspaceId: string) {
  const entry = readWorkspaces(window.localStorage).find((e) => e.id === workspaceId);
  return {
    ...(entry?.token ? { token: entry.token } : {}),
    auth: {
      api: authApi,
      createdHere: entry?.createdHere ?? false,
      saveToken: (token: string) => {
        rememberToken(window.localStorage, workspaceId, token, Date.now());
        notifyLocalStorage(WORKSPACES_KEY);
      },
    },
  };
}

/** The note the route names in `workspaceId`, if any (the address bar may be a frame behind). */
function noteInAddressBar(workspaceId: string): string | null {
  const route = parseRoute(currentPath());
  return route.kind === 'workspace' && route.workspaceId === workspaceId ? route.noteId : null;
}

// Make sure a name and colour exist before anything renders or joins awareness.
loadIdentity(window.localStorage);

const controller = new WorkspaceController<WorkspaceSession, OpeningPreview>({
  // Importing the same token again on a later open merges nothing new: harmless.
  open: (workspaceId, onPreview) =>
    WorkspaceSession.open(workspaceId, {
      relays,
      ...(cluster ? { cluster } : {}),
      ...authFor(workspaceId),
      sessionToken: linkSession?.workspaceId === workspaceId ? linkSession.token : undefined,
      onPreview,
      noteId: noteInAddressBar(workspaceId),
    }),
  create: () => {
    const workspaceId = newId();
    // Recorded before seeding, so a workspace made here is never orphaned in IndexedDB.
    rememberWorkspace(window.localStorage, { id: workspaceId, createdHere: true }, Date.now());
    notifyLocalStorage(WORKSPACES_KEY);
    return WorkspaceSession.create({
      relays,
      workspaceId,
      ...(cluster ? { cluster } : {}),
      ...authFor(workspaceId),
    });
  },
});

// Test hook for the Playwright suite: the open workspace's replica and store.
controller.subscribe(() => {
  const { state } = controller;
  window.__lattice =
    state.phase === 'ready'
      ? {
          replica: state.session.replica,
          store: state.session.store,
          workspaceId: state.session.workspaceId,
        }
      : undefined;
});

// The address bar's workspace starts opening now rather than in App's first effect
// (which runs after React's first render and commit): its database open and socket
// handshake then overlap that render (bench `coldload`, fresh device). App's effect
// gets this same pending open from the controller.
if (startRoute.kind === 'workspace') {
  rememberWorkspace(
    window.localStorage,
    { id: startRoute.workspaceId, createdHere: false },
    Date.now(),
  );
  controller.open(startRoute.workspaceId).catch(() => undefined);
}

// The service worker (and its ~1.2 MB precache, fetched from the relay that is answering
// the index doc) is only needed for the next, offline, load: registered once start-up
// has fetched what it needs (bench `coldload`, fresh device).
void whenStartupQuiet({
  current: () => {
    const { state } = controller;
    if (state.phase === 'error') return 'failed';
    return state.phase === 'ready' ? state.session.replica : null;
  },
  subscribe: (listener) => controller.subscribe(listener),
}).then(() => registerSW({ immediate: true }));

// Notes live only in IndexedDB until a relay has them; ask the browser not to evict it under storage pressure.
navigator.storage?.persist?.().catch(() => undefined);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App controller={controller} warning={warning} />
  </StrictMode>,
);
