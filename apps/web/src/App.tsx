import { useCallback, useEffect, useSyncExternalStore } from 'react';
import { StatusScreen } from './components/StatusScreen.tsx';
import { WorkspacePreview } from './components/WorkspacePreview.tsx';
import { WorkspaceView } from './components/WorkspaceView.tsx';
import { useIdentity } from './hooks/useIdentity.ts';
import { notifyLocalStorage } from './hooks/useLocalStorageKey.ts';
import { useRoute } from './hooks/useRoute.ts';
import { useWorkspaces } from './hooks/useWorkspaces.ts';
import { navigate } from './lib/navigate.ts';
import { workspacePath } from './workspace/routes.ts';
import type { WorkspaceController } from './workspace/WorkspaceController.ts';
import type { OpeningPreview, WorkspaceSession } from './workspace/WorkspaceSession.ts';
import {
  mostRecentWorkspace,
  readWorkspaces,
  rememberWorkspace,
  WORKSPACES_KEY,
} from './workspace/workspaces.ts';

interface Props {
  controller: WorkspaceController<WorkspaceSession, OpeningPreview>;
  /** A configuration problem to show once a workspace is open. */
  warning: string | null;
}

/** Routes the URL to a workspace: `/` lands on the last one (or creates the first), `/w/<id>` opens it. */
export function App({ controller, warning }: Props) {
  const route = useRoute();
  const subscribe = useCallback(
    (listener: () => void) => controller.subscribe(listener),
    [controller],
  );
  const state = useSyncExternalStore(subscribe, () => controller.state);
  const [identity, setIdentity] = useIdentity();
  const workspaces = useWorkspaces();

  const createWorkspace = useCallback(
    (replace: boolean) => {
      controller.create().then(
        (created) => {
          if (created) {
            navigate(workspacePath(created.session.workspaceId, created.noteId), { replace });
          }
        },
        // The controller's state already shows the error.
        () => undefined,
      );
    },
    [controller],
  );

  const routeKey = route.kind === 'workspace' ? `w:${route.workspaceId}` : route.kind;
  // biome-ignore lint/correctness/useExhaustiveDependencies: routeKey captures the part of route that matters
  useEffect(() => {
    if (route.kind === 'home') {
      const recent = mostRecentWorkspace(readWorkspaces(window.localStorage));
      if (recent) navigate(workspacePath(recent.id), { replace: true });
      else createWorkspace(true);
    } else if (route.kind === 'workspace') {
      rememberWorkspace(
        window.localStorage,
        { id: route.workspaceId, createdHere: false },
        Date.now(),
      );
      notifyLocalStorage(WORKSPACES_KEY);
      controller.open(route.workspaceId).catch(() => undefined);
    }
  }, [routeKey, controller, createWorkspace]);

  if (route.kind === 'invalid') {
    return (
      <StatusScreen title="Nothing here" message={route.reason}>
        <a className="button primary" href="/">
          Go to your notes
        </a>
      </StatusScreen>
    );
  }
  if (state.phase === 'error') {
    return (
      <StatusScreen title="This workspace could not be opened" message={state.message}>
        <button type="button" className="button primary" onClick={() => window.location.reload()}>
          Try again
        </button>
      </StatusScreen>
    );
  }
  if (
    route.kind === 'workspace' &&
    state.phase === 'ready' &&
    state.session.workspaceId === route.workspaceId
  ) {
    return (
      <WorkspaceView
        key={state.session.workspaceId}
        session={state.session}
        noteId={route.noteId}
        identity={identity}
        onIdentityChange={setIdentity}
        workspaces={workspaces}
        onCreateWorkspace={() => createWorkspace(false)}
        warning={warning}
      />
    );
  }
  if (
    route.kind === 'workspace' &&
    state.phase === 'opening' &&
    state.workspaceId === route.workspaceId &&
    state.preview !== undefined
  ) {
    return (
      <WorkspacePreview
        workspaceId={route.workspaceId}
        preview={state.preview}
        noteId={route.noteId}
      />
    );
  }
  return <StatusScreen title="Opening your notes…" />;
}
