import { type RefObject, useEffect, useRef } from 'react';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';

/** Open dialogs, newest last: Escape and Tab belong to the newest only. */
const open: object[] = [];

/**
 * Dialog behaviour for a panel or modal rendered while open: focus moves into
 * it (`initialFocus`, else its first control), Escape calls `onClose`, and on
 * close focus returns to where it was (the button that opened it). With
 * `modal`, Tab and Shift-Tab cycle inside it, so keyboard users cannot wander
 * behind the backdrop. `onClose` may change identity freely.
 */
export function useDialog(
  container: RefObject<HTMLElement | null>,
  onClose: () => void,
  options: { modal?: boolean; initialFocus?: RefObject<HTMLElement | null> } = {},
): void {
  const close = useRef(onClose);
  close.current = onClose;
  const { modal = false, initialFocus } = options;
  // biome-ignore lint/correctness/useExhaustiveDependencies: refs are stable; runs once per opening
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = container.current;
    const first = initialFocus?.current ?? root?.querySelector<HTMLElement>(FOCUSABLE) ?? root;
    first?.focus();
    const self = {};
    open.push(self);
    const onKeyDown = (event: KeyboardEvent) => {
      if (open[open.length - 1] !== self) return;
      if (event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        close.current();
        return;
      }
      if (!modal || event.key !== 'Tab' || root === null) return;
      const focusable = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
        (el) => el.offsetParent !== null || el === document.activeElement,
      );
      const head = focusable[0];
      const tail = focusable[focusable.length - 1];
      if (head === undefined || tail === undefined) {
        event.preventDefault();
        return;
      }
      const inside = root.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === head || !inside)) {
        event.preventDefault();
        tail.focus();
      } else if (!event.shiftKey && (document.activeElement === tail || !inside)) {
        event.preventDefault();
        head.focus();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => {
      window.removeEventListener('keydown', onKeyDown);
      open.splice(open.indexOf(self), 1);
      // Only when focus would otherwise be lost (still inside the closing dialog, or on body).
      const active = document.activeElement;
      if (
        opener?.isConnected &&
        (active === null || active === document.body || root?.contains(active))
      ) {
        opener.focus();
      }
    };
  }, []);
}
