import type { ReactNode } from 'react';

interface Props {
  title: string;
  hint: ReactNode;
  /** A call to action (e.g. "New note"), with the shortcut that does the same. */
  action?: { label: string; onClick(): void; shortcut?: string; disabled?: boolean };
  testId?: string;
  /** `status` when the message can change while the person watches (search, arriving). */
  role?: 'status';
}

/** What a list or pane says when there is nothing to show, and what to do about it. */
export function EmptyState({ title, hint, action, testId, role }: Props) {
  return (
    <div className="empty-state" data-testid={testId} role={role}>
      <p className="empty-title">{title}</p>
      <p className="empty-hint">{hint}</p>
      {action ? (
        <button
          type="button"
          className="button primary empty-action"
          data-testid={testId ? `${testId}-action` : undefined}
          disabled={action.disabled}
          aria-keyshortcuts={action.shortcut}
          onClick={action.onClick}
        >
          {action.label}
          {action.shortcut ? <kbd className="kbd-hint">{action.shortcut}</kbd> : null}
        </button>
      ) : null}
    </div>
  );
}
