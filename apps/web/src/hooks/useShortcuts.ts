import { useEffect, useRef } from 'react';
import { isApple, type KeyTarget, type ShortcutAction, shortcutFor } from '../lib/shortcuts.ts';

/** Handlers for the app's shortcuts (`lib/shortcuts.ts`); a missing one leaves its keys alone. */
export type ShortcutHandlers = Partial<Record<ShortcutAction, () => void>>;

function targetOf(element: EventTarget | null): KeyTarget {
  if (!(element instanceof Element)) return 'other';
  if (element.closest('.cm-editor') !== null) return 'editor';
  if (element instanceof HTMLElement && element.isContentEditable) return 'field';
  if (element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) {
    return 'field';
  }
  if (element instanceof HTMLInputElement) {
    // Checkboxes, buttons and the like take no text.
    return /^(?:text|search|url|email|password|tel|number|date|time)$/.test(element.type)
      ? 'field'
      : 'other';
  }
  return 'other';
}

/**
 * Runs `handlers` on the app's keyboard shortcuts, on `window` (so they work
 * wherever focus is) and after every other handler: a key a component already
 * took (`preventDefault`: the editor's keymap, a dialog's own keys) is left
 * alone. The handlers may change on every render without re-subscribing.
 */
export function useShortcuts(handlers: ShortcutHandlers, enabled = true): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    if (!enabled) return;
    const apple = isApple();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing || event.repeat) return;
      const shortcut = shortcutFor(event, targetOf(event.target), apple);
      const run = shortcut === undefined ? undefined : current.current[shortcut.action];
      if (run === undefined) return;
      event.preventDefault();
      run();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [enabled]);
}
