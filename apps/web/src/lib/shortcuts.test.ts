import { describe, expect, it } from 'vitest';
import {
  allowedIn,
  chordLabel,
  type KeyLike,
  matchesChord,
  parseChord,
  SHORTCUTS,
  shortcutFor,
} from './shortcuts.ts';

function key(init: Partial<KeyLike> & { key: string }): KeyLike {
  return { code: '', ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...init };
}

describe('parseChord', () => {
  it('reads modifiers from the front and keeps punctuation keys', () => {
    expect(parseChord('Mod-Alt-n')).toEqual({ key: 'n', mod: true, alt: true, shift: false });
    expect(parseChord('Mod-/')).toEqual({ key: '/', mod: true, alt: false, shift: false });
    expect(parseChord('Mod--')).toEqual({ key: '-', mod: true, alt: false, shift: false });
    expect(parseChord('?').key).toBe('?');
  });

  it('refuses what it cannot read', () => {
    expect(() => parseChord('')).toThrow(/cannot read/);
    expect(() => parseChord('Hyper-x-y')).toThrow(/cannot read/);
  });
});

describe('matchesChord', () => {
  it('maps Mod to Ctrl elsewhere and to Cmd on Apple, and refuses the other one', () => {
    const ctrlK = key({ key: 'k', code: 'KeyK', ctrlKey: true });
    const cmdK = key({ key: 'k', code: 'KeyK', metaKey: true });
    expect(matchesChord(ctrlK, 'Mod-k', false)).toBe(true);
    expect(matchesChord(cmdK, 'Mod-k', false)).toBe(false);
    expect(matchesChord(cmdK, 'Mod-k', true)).toBe(true);
    expect(matchesChord(ctrlK, 'Mod-k', true)).toBe(false);
  });

  it('matches letters by physical key when Alt changes the character', () => {
    // Option-N on a Mac types a dead key '˜'.
    const optN = key({ key: 'Dead', code: 'KeyN', metaKey: true, altKey: true });
    expect(matchesChord(optN, 'Mod-Alt-n', true)).toBe(true);
    expect(matchesChord(key({ key: 'n', code: 'KeyN', ctrlKey: true }), 'Mod-Alt-n', false)).toBe(
      false,
    );
    expect(
      matchesChord(key({ key: 'N', code: 'KeyN', ctrlKey: true, shiftKey: true }), 'Mod-n', false),
    ).toBe(false);
  });

  it('matches punctuation by the character produced, whatever Shift it took', () => {
    expect(matchesChord(key({ key: '?', code: 'Slash', shiftKey: true }), '?', false)).toBe(true);
    expect(matchesChord(key({ key: '/', code: 'Slash' }), '?', false)).toBe(false);
    expect(matchesChord(key({ key: '/', code: 'Slash', ctrlKey: true }), '/', false)).toBe(false);
  });

  it('matches named keys with their modifiers', () => {
    const altUp = key({ key: 'ArrowUp', altKey: true });
    expect(matchesChord(altUp, 'Alt-ArrowUp', false)).toBe(true);
    expect(matchesChord(key({ key: 'ArrowUp' }), 'Alt-ArrowUp', false)).toBe(false);
    expect(matchesChord({ ...altUp, shiftKey: true }, 'Alt-ArrowUp', false)).toBe(false);
  });
});

describe('shortcutFor', () => {
  const ctrl = (k: string) => key({ key: k, code: `Key${k.toUpperCase()}`, ctrlKey: true });

  it('finds each documented shortcut outside text fields', () => {
    expect(
      shortcutFor(key({ key: 'n', code: 'KeyN', ctrlKey: true, altKey: true }), 'other', false)
        ?.action,
    ).toBe('newNote');
    expect(shortcutFor(ctrl('k'), 'other', false)?.action).toBe('search');
    expect(shortcutFor(key({ key: '/', code: 'Slash' }), 'other', false)?.action).toBe('search');
    expect(shortcutFor(ctrl('p'), 'other', false)?.action).toBe('quickSwitch');
    expect(shortcutFor(key({ key: 'ArrowDown', altKey: true }), 'other', false)?.action).toBe(
      'nextNote',
    );
    expect(shortcutFor(key({ key: 'ArrowUp', altKey: true }), 'other', false)?.action).toBe(
      'previousNote',
    );
    expect(shortcutFor(key({ key: '?', shiftKey: true }), 'other', false)?.action).toBe('help');
    expect(shortcutFor(key({ key: '/', ctrlKey: true }), 'other', false)?.action).toBe('help');
  });

  it('never takes a typed character or an editor binding from a text field', () => {
    expect(shortcutFor(key({ key: '/' }), 'editor', false)).toBeUndefined();
    expect(shortcutFor(key({ key: '/' }), 'field', false)).toBeUndefined();
    expect(shortcutFor(key({ key: '?', shiftKey: true }), 'field', false)).toBeUndefined();
    // CodeMirror: Alt-Up/Down move lines, Mod-/ toggles a comment.
    expect(shortcutFor(key({ key: 'ArrowUp', altKey: true }), 'editor', false)).toBeUndefined();
    expect(shortcutFor(key({ key: '/', ctrlKey: true }), 'editor', false)).toBeUndefined();
    // In the title or search box Alt-Down has no text meaning: it switches notes.
    expect(shortcutFor(key({ key: 'ArrowDown', altKey: true }), 'field', false)?.action).toBe(
      'nextNote',
    );
  });

  it('keeps the chords that type nothing working while writing', () => {
    expect(shortcutFor(ctrl('k'), 'editor', false)?.action).toBe('search');
    expect(shortcutFor(ctrl('p'), 'editor', false)?.action).toBe('quickSwitch');
    expect(
      shortcutFor(key({ key: 'n', code: 'KeyN', ctrlKey: true, altKey: true }), 'editor', false)
        ?.action,
    ).toBe('newNote');
  });

  it('ignores plain typing', () => {
    for (const k of ['a', 'n', 'k', 'p', 'Enter', 'ArrowDown']) {
      expect(
        shortcutFor(key({ key: k, code: `Key${k.toUpperCase()}` }), 'other', false),
      ).toBeUndefined();
    }
  });
});

describe('allowedIn / chordLabel', () => {
  it('orders scopes from most to least permissive', () => {
    expect(['editor', 'field', 'other'].map((t) => allowedIn('anywhere', t as 'editor'))).toEqual([
      true,
      true,
      true,
    ]);
    expect(
      ['editor', 'field', 'other'].map((t) => allowedIn('notInEditor', t as 'editor')),
    ).toEqual([false, true, true]);
    expect(['editor', 'field', 'other'].map((t) => allowedIn('notTyping', t as 'editor'))).toEqual([
      false,
      false,
      true,
    ]);
  });

  it('labels chords per platform', () => {
    expect(chordLabel('Mod-Alt-n', false)).toBe('Ctrl+Alt+N');
    expect(chordLabel('Mod-Alt-n', true)).toBe('⌘⌥N');
    expect(chordLabel('Alt-ArrowUp', false)).toBe('Alt+↑');
    expect(chordLabel('?', false)).toBe('?');
  });

  it('every listed chord parses and no chord is listed twice', () => {
    const all = SHORTCUTS.flatMap((s) => s.keys);
    for (const k of all) expect(() => parseChord(k)).not.toThrow();
    expect(new Set(all).size).toBe(all.length);
  });
});
