import type { AccessProblem } from '@lattice/replication';
import { navigate } from '../lib/navigate.ts';
import { workspacePath } from '../workspace/routes.ts';
import type { WorkspaceEntry } from '../workspace/workspaces.ts';

interface Props {
  problem: AccessProblem;
  reason: string;
  workspaceId: string;
  workspaces: WorkspaceEntry[];
  onCreateWorkspace(): void;
}

/** The relays refuse this workspace's token: say so plainly, and offer the way back to your own notes. */
export function AccessScreen({
  problem,
  reason,
  workspaceId,
  workspaces,
  onCreateWorkspace,
}: Props) {
  const expired = problem === 'expired';
  const others = workspaces.filter((entry) => entry.id !== workspaceId);
  return (
    <main className="status-screen" data-testid="access-screen" data-problem={problem}>
      <div className="status-card">
        <h1>{expired ? 'This link has expired' : 'No access'}</h1>
        <p>
          {expired
            ? 'The link you opened was only valid for a limited time. Ask its owner for a new one.'
            : 'This workspace is not shared with you, or the link you used was revoked. Ask its owner for a link.'}
        </p>
        {reason ? <p className="access-reason">Relay said: {reason}</p> : null}
        {others.length > 0 ? (
          <ul className="access-workspaces" aria-label="Your workspaces">
            {others.map((entry) => (
              <li key={entry.id}>
                <a
                  href={workspacePath(entry.id)}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(workspacePath(entry.id));
                  }}
                >
                  {entry.name}
                </a>
              </li>
            ))}
          </ul>
        ) : null}
        <button
          type="button"
          className="button primary"
          data-testid="access-new-workspace"
          onClick={onCreateWorkspace}
        >
          New workspace
        </button>
      </div>
    </main>
  );
}
