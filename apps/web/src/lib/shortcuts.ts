/**
 * The app's keyboard shortcuts: one table read by the key handler
 * (`useShortcuts`) and by the help dialog, so what is listed is what works.
 *
 * Chosen to work inside a Chromium page: Mod-N, Mod-T and Mod-W belong to the
 * browser and never reach a page, so a new note is Mod-Alt-N. Mod-K and Mod-P
 * do reach the page (their browser actions are cancelled by `preventDefault`).
 */

/** What a shortcut does. */
export type ShortcutAction =
  | 'newNote'
  | 'search'
  | 'quickSwitch'
  | 'previousNote'
  | 'nextNote'
  | 'help';

/**
 * Where a shortcut may fire.
 * - `anywhere`: also while typing in the title, search box or editor (the
 *   chord types nothing and the editor has no binding for it);
 * - `notInEditor`: not in the note editor, whose keymap uses the chord
 *   (Alt-Up/Down move lines, Mod-/ toggles a comment);
 * - `notTyping`: only when no text field has focus (a plain character).
 */
export type ShortcutScope = 'anywhere' | 'notInEditor' | 'notTyping';

export interface Shortcut {
  action: ShortcutAction;
  /** Key combinations, `Mod-Alt-n` style (`Mod` = Cmd on Apple, Ctrl elsewhere). */
  keys: readonly string[];
  scope: ShortcutScope;
  /** For the help dialog. */
  description: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { action: 'newNote', keys: ['Mod-Alt-n'], scope: 'anywhere', description: 'New note' },
  {
    action: 'search',
    keys: ['Mod-k', '/'],
    scope: 'anywhere',
    description: 'Search notes',
  },
  {
    action: 'quickSwitch',
    keys: ['Mod-p'],
    scope: 'anywhere',
    description: 'Switch to a note by title',
  },
  {
    action: 'previousNote',
    keys: ['Alt-ArrowUp'],
    scope: 'notInEditor',
    description: 'Previous note in the list',
  },
  {
    action: 'nextNote',
    keys: ['Alt-ArrowDown'],
    scope: 'notInEditor',
    description: 'Next note in the list',
  },
  { action: 'help', keys: ['?', 'Mod-/'], scope: 'notInEditor', description: 'Show shortcuts' },
];

/** The part of a `KeyboardEvent` a shortcut looks at. */
export interface KeyLike {
  key: string;
  code: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

interface Chord {
  key: string;
  mod: boolean;
  alt: boolean;
  shift: boolean;
}

const MODIFIERS = new Set(['Mod', 'Alt', 'Shift']);

/** Parses `Mod-Alt-n`; throws on an unknown modifier or an empty key. */
export function parseChord(spec: string): Chord {
  // The key itself may be '-' or '/', so split off modifiers from the front only.
  const parts = spec.split('-');
  const chord: Chord = { key: '', mod: false, alt: false, shift: false };
  while (parts.length > 1 && MODIFIERS.has(parts[0] ?? '')) {
    const modifier = parts.shift();
    if (modifier === 'Mod') chord.mod = true;
    else if (modifier === 'Alt') chord.alt = true;
    else chord.shift = true;
  }
  chord.key = parts.join('-');
  if (chord.key === '' || (parts.length > 1 && chord.key !== '-')) {
    throw new Error(`parseChord: cannot read shortcut ${JSON.stringify(spec)}`);
  }
  return chord;
}

/** Whether `event` is the chord `spec`. `apple` picks Cmd (else Ctrl) for `Mod`. */
export function matchesChord(event: KeyLike, spec: string, apple: boolean): boolean {
  const chord = parseChord(spec);
  const mod = apple ? event.metaKey : event.ctrlKey;
  const other = apple ? event.ctrlKey : event.metaKey;
  if (mod !== chord.mod || other || event.altKey !== chord.alt) return false;
  if (chord.key.length === 1 && /[a-z]/i.test(chord.key)) {
    // Alt (Option on a Mac) changes `key` to another character: the physical key decides.
    if (event.shiftKey !== chord.shift) return false;
    return event.code === `Key${chord.key.toUpperCase()}` || event.key.toLowerCase() === chord.key;
  }
  if (chord.key.length === 1) {
    // Punctuation: `?` is Shift-/ on one layout and something else on another, so the
    // produced character decides and Shift is whatever the layout needed.
    return event.key === chord.key;
  }
  return event.shiftKey === chord.shift && event.key === chord.key;
}

/** Where the key was pressed, as far as shortcut scopes care. */
export type KeyTarget = 'editor' | 'field' | 'other';

/** Whether a shortcut of `scope` may fire with focus on `target`. */
export function allowedIn(scope: ShortcutScope, target: KeyTarget): boolean {
  if (scope === 'anywhere') return true;
  if (scope === 'notInEditor') return target !== 'editor';
  return target === 'other';
}

/** The first shortcut `event` triggers with focus on `target`, if any. */
export function shortcutFor(
  event: KeyLike,
  target: KeyTarget,
  apple: boolean,
  shortcuts: readonly Shortcut[] = SHORTCUTS,
): Shortcut | undefined {
  return shortcuts.find(
    (s) =>
      allowedIn(
        // A bare character (`/`, `?`) is text wherever text can be typed.
        s.keys.some((k) => k.length === 1 && matchesChord(event, k, apple)) ? 'notTyping' : s.scope,
        target,
      ) && s.keys.some((k) => matchesChord(event, k, apple)),
  );
}

/** How a chord reads in the help dialog and in hints: `Ctrl+Alt+N`, `⌘⌥N`. */
export function chordLabel(spec: string, apple: boolean): string {
  const chord = parseChord(spec);
  const key =
    chord.key === 'ArrowUp'
      ? '↑'
      : chord.key === 'ArrowDown'
        ? '↓'
        : chord.key.length === 1
          ? chord.key.toUpperCase()
          : chord.key;
  if (apple) {
    return `${chord.mod ? '⌘' : ''}${chord.alt ? '⌥' : ''}${chord.shift ? '⇧' : ''}${key}`;
  }
  return [chord.mod ? 'Ctrl' : '', chord.alt ? 'Alt' : '', chord.shift ? 'Shift' : '', key]
    .filter((p) => p !== '')
    .join('+');
}

/** The label of an action's first chord (for hints next to buttons). */
export function actionLabel(action: ShortcutAction, apple: boolean): string {
  const first = SHORTCUTS.find((s) => s.action === action)?.keys[0];
  return first === undefined ? '' : chordLabel(first, apple);
}

/** Whether this browser runs on an Apple platform (Cmd is the command modifier). */
export function isApple(): boolean {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  return nav !== undefined && /Mac|iPhone|iPad|iPod/.test(nav.platform || nav.userAgent);
}
