import { describe, expect, it } from 'vitest';
import { FileNamer, fileStem } from './fileNames.ts';

describe('fileStem', () => {
  it('replaces path separators, reserved punctuation and control characters', () => {
    expect(fileStem('a/b\\c')).toBe('a-b-c');
    expect(fileStem('Meeting: 10:30 *draft*?')).toBe('Meeting- 10-30 -draft--');
    expect(fileStem('<x>|"y"')).toBe('-x---y-');
    expect(fileStem('tab\there\u0007bell')).toBe('tab here-bell');
  });

  it('keeps emoji and other unicode whole', () => {
    expect(fileStem('Ideas 💡 für Café 👩‍👩‍👧')).toBe('Ideas 💡 für Café 👩‍👩‍👧');
  });

  it('names empty, dot-only and whitespace titles "Untitled"', () => {
    for (const title of ['', '   ', '...', '\n']) expect(fileStem(title)).toBe('Untitled');
    expect(fileStem('.hidden')).toBe('hidden');
    expect(fileStem('trailing. ')).toBe('trailing');
  });

  it('avoids names Windows reserves', () => {
    expect(fileStem('CON')).toBe('CON_');
    expect(fileStem('lpt1')).toBe('lpt1_');
    expect(fileStem('console')).toBe('console');
  });

  it('cuts long titles to 180 UTF-8 bytes between graphemes', () => {
    const stem = fileStem('👩‍👩‍👧'.repeat(100));
    expect(new TextEncoder().encode(stem).length).toBeLessThanOrEqual(180);
    expect(stem).toBe('👩‍👩‍👧'.repeat(stem.length / '👩‍👩‍👧'.length));
    expect(fileStem('x'.repeat(500))).toBe('x'.repeat(180));
  });
});

describe('FileNamer', () => {
  it('de-duplicates repeated titles, case-insensitively and around existing "(n)" names', () => {
    const namer = new FileNamer();
    expect(
      ['Note', 'note', 'Note (2)', 'Note', '', '', 'a/b', 'a:b'].map((t) => namer.next(t)),
    ).toEqual([
      'Note.md',
      'note (2).md',
      'Note (2) (2).md',
      'Note (3).md',
      'Untitled.md',
      'Untitled (2).md',
      'a-b.md',
      'a-b (2).md',
    ]);
  });
});
