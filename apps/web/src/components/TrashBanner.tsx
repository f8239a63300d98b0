interface Props {
  /** Read-only: neither restoring nor deleting is possible. */
  disabled?: boolean;
  onRestore(): void;
  onPurge(): void;
}

/** Shown on a trashed note: it can still be read and edited, and restored or deleted for good. */
export function TrashBanner({ disabled = false, onRestore, onPurge }: Props) {
  return (
    <div className="trash-banner" role="status">
      <span>This note is in the trash.</span>
      <div className="trash-banner-actions">
        <button
          type="button"
          className="button"
          data-testid="restore-note"
          disabled={disabled}
          onClick={onRestore}
        >
          Restore
        </button>
        <button
          type="button"
          className="button danger"
          data-testid="purge-note"
          disabled={disabled}
          onClick={onPurge}
        >
          Delete forever
        </button>
      </div>
    </div>
  );
}
