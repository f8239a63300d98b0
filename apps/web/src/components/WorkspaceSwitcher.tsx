import type { WorkspaceEntry } from '../workspace/workspaces.ts';

interface Props {
  workspaces: WorkspaceEntry[];
  currentId: string;
  onSwitch(id: string): void;
  onCreate(): void;
}

/** Picks which of this person's workspaces is open, or starts a new one. */
export function WorkspaceSwitcher({ workspaces, currentId, onSwitch, onCreate }: Props) {
  const known = workspaces.some((entry) => entry.id === currentId);
  return (
    <div className="workspace-switcher">
      <select
        data-testid="workspace-switcher"
        aria-label="Workspace"
        value={currentId}
        onChange={(event) => onSwitch(event.target.value)}
      >
        {known ? null : <option value={currentId}>Workspace {currentId.slice(0, 6)}</option>}
        {workspaces.map((entry) => (
          <option key={entry.id} value={entry.id}>
            {entry.name}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="icon-button"
        data-testid="new-workspace"
        title="New workspace"
        aria-label="New workspace"
        onClick={onCreate}
      >
        <svg viewBox="0 0 20 20" aria-hidden="true">
          <path d="M10 4v12M4 10h12" />
        </svg>
      </button>
    </div>
  );
}
