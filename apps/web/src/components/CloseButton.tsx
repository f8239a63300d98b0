import type { Ref } from 'react';

/** The × icon button that closes a dialog or panel, or dismisses a notice. */
export function CloseButton({
  label,
  onClick,
  testId,
  ref,
}: {
  label: string;
  onClick: () => void;
  testId?: string;
  ref?: Ref<HTMLButtonElement>;
}) {
  return (
    <button
      ref={ref}
      type="button"
      className="icon-button"
      data-testid={testId}
      aria-label={label}
      onClick={onClick}
    >
      <svg viewBox="0 0 20 20" aria-hidden="true">
        <path d="M5 5l10 10M15 5 5 15" />
      </svg>
    </button>
  );
}
