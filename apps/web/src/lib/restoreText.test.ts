import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { restoreEdits, restoreText, versionDiff } from './restoreText.ts';

function synced(text: string): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  a.getText('body').insert(0, text);
  const b = new Y.Doc();
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  return [a, b];
}

function exchange(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
}

describe('restoreText', () => {
  it('turns the text into the version with few edits', () => {
    const [doc] = synced('Shopping: milk, bread, cheese');
    const edits = restoreText(doc.getText('body'), 'Shopping: milk, eggs, cheese');
    expect(doc.getText('body').toString()).toBe('Shopping: milk, eggs, cheese');
    expect(edits).toBeLessThanOrEqual(3);
  });

  it('keeps a concurrent edit made elsewhere in the note', () => {
    const v1 = '# Plan\n\nStep one.\n\nNotes: none';
    const v2 = '# Plan\n\nStep one. Step two, rewritten.\n\nNotes: none';
    const [a, b] = synced(v2);
    // A appends to the notes section while B restores v1; neither has seen the other.
    a.getText('body').insert(v2.length, ', but call Bob');
    restoreText(b.getText('body'), v1);
    exchange(a, b);
    const merged = '# Plan\n\nStep one.\n\nNotes: none, but call Bob';
    expect(a.getText('body').toString()).toBe(merged);
    expect(b.getText('body').toString()).toBe(merged);
  });

  it('is one transaction with the given origin, and nothing at all when equal', () => {
    const [doc] = synced('abc');
    const origins: unknown[] = [];
    doc.on('afterTransaction', (tr: Y.Transaction) => origins.push(tr.origin));
    expect(restoreText(doc.getText('body'), 'abc', 'restore')).toBe(0);
    restoreText(doc.getText('body'), 'xbcz', 'restore');
    expect(origins).toEqual(['restore']);
    expect(doc.getText('body').toString()).toBe('xbcz');
  });

  it('handles characters outside the BMP (UTF-16 indexes)', () => {
    const [doc] = synced('a😀b😀c');
    restoreText(doc.getText('body'), 'a😀😀c!');
    expect(doc.getText('body').toString()).toBe('a😀😀c!');
  });

  it('edits apply in order to reach the target (property over random strings)', () => {
    const alphabet = 'ab \n😀';
    for (let run = 0; run < 200; run++) {
      const random = (n: number) =>
        Array.from({ length: n }, () => [...alphabet][Math.floor(Math.random() * 5)]).join('');
      const from = random(Math.floor(Math.random() * 20));
      const to = random(Math.floor(Math.random() * 20));
      let text = from;
      for (const e of restoreEdits(from, to)) {
        text = text.slice(0, e.index) + e.insert + text.slice(e.index + e.remove);
      }
      expect(text).toBe(to);
    }
  });
});

describe('versionDiff', () => {
  it('marks lines only now and only in the version', () => {
    expect(versionDiff('a\nb\nc\n', 'a\nB\nc\n')).toEqual([
      { kind: 'same', text: 'a\n' },
      { kind: 'now', text: 'b\n' },
      { kind: 'version', text: 'B\n' },
      { kind: 'same', text: 'c\n' },
    ]);
  });
});
