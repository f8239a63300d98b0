import { useRef } from 'react';
import { useDialog } from '../hooks/useDialog.ts';
import { chordLabel, isApple, SHORTCUTS } from '../lib/shortcuts.ts';
import { CloseButton } from './CloseButton.tsx';

/** The shortcuts dialog (`?` or Mod-/): every shortcut the app answers to, from the one table. */
export function ShortcutsHelp({ onClose }: { onClose(): void }) {
  const dialog = useRef<HTMLDivElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  useDialog(dialog, onClose, { modal: true, initialFocus: closeRef });
  const apple = isApple();
  return (
    <div className="dialog-backdrop">
      <div
        ref={dialog}
        className="dialog shortcuts-help"
        data-testid="shortcuts-help"
        role="dialog"
        aria-modal="true"
        aria-labelledby="shortcuts-help-title"
      >
        <div className="rp-header">
          <h2 id="shortcuts-help-title">Keyboard shortcuts</h2>
          <CloseButton
            label="Close shortcuts"
            onClick={onClose}
            testId="shortcuts-help-close"
            ref={closeRef}
          />
        </div>
        <dl className="shortcut-list">
          {SHORTCUTS.map((shortcut) => (
            <div key={shortcut.action} className="shortcut-row" data-action={shortcut.action}>
              <dt>{shortcut.description}</dt>
              <dd>
                {shortcut.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 ? <span className="shortcut-or"> or </span> : null}
                    <kbd>{chordLabel(k, apple)}</kbd>
                  </span>
                ))}
              </dd>
            </div>
          ))}
          <div className="shortcut-row">
            <dt>Close a dialog or panel</dt>
            <dd>
              <kbd>Esc</kbd>
            </dd>
          </div>
        </dl>
        <p className="shortcut-note">
          Alt+↑/↓ and {chordLabel('Mod-/', apple)} are left to the editor while you write in a note
          (they move lines and toggle comments there); <kbd>/</kbd> and <kbd>?</kbd> type themselves
          in any text field.
        </p>
      </div>
    </div>
  );
}
