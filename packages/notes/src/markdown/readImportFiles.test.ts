import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { formatNoteFile } from './frontMatter.ts';
import { readImportFiles } from './readImportFiles.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);
const file = (title: string) =>
  formatNoteFile({
    id: `id-${title}`,
    title,
    body: `body of ${title}`,
    createdAt: 1,
    updatedAt: 2,
    trashedAt: null,
  });

describe('readImportFiles', () => {
  it('reads .md and .markdown files and reports every other file as skipped', () => {
    const read = readImportFiles([
      { name: 'a.md', bytes: utf8(file('A')) },
      { name: 'folder/b.MARKDOWN', bytes: utf8('plain body') },
      { name: 'folder/picture.png', bytes: new Uint8Array([1, 2, 3]) },
    ]);
    expect(read.notes.map((n) => [n.path, n.note.title])).toEqual([
      ['a.md', 'A'],
      ['folder/b.MARKDOWN', 'b'],
    ]);
    expect(read.problems).toEqual([
      { path: 'folder/picture.png', kind: 'skipped', message: 'not a Markdown (.md) file' },
    ]);
  });

  it('reports text that is not UTF-8 and broken front matter, and reads the rest', () => {
    const read = readImportFiles([
      { name: 'latin1.md', bytes: new Uint8Array([0x63, 0x61, 0x66, 0xe9]) },
      { name: 'broken.md', bytes: utf8('---\ntitle: [oops\n---\n') },
      { name: 'good.md', bytes: utf8(file('Good')) },
    ]);
    expect(read.notes.map((n) => n.note.title)).toEqual(['Good']);
    expect(read.problems).toEqual([
      { path: 'latin1.md', kind: 'error', message: 'not UTF-8 text' },
      { path: 'broken.md', kind: 'error', message: expect.stringMatching(/^broken front matter/) },
    ]);
  });

  it('reads a zip (found by content, whatever its name), folders inside it included', () => {
    const zip = zipSync({
      'a.md': utf8(file('A')),
      'Trash/b.md': utf8(file('B')),
      'notes.txt': utf8('x'),
      'inner.zip': zipSync({ 'c.md': utf8(file('C')) }),
      'empty/': new Uint8Array(0),
    });
    const read = readImportFiles([{ name: 'backup.bin', bytes: zip }]);
    expect(read.notes.map((n) => [n.path, n.note.title])).toEqual([
      ['backup.bin/a.md', 'A'],
      ['backup.bin/Trash/b.md', 'B'],
    ]);
    expect(read.problems.map((p) => [p.path, p.kind])).toEqual([
      ['backup.bin/notes.txt', 'skipped'],
      ['backup.bin/inner.zip', 'skipped'],
    ]);
  });

  it('stops a zip bomb at the size limit, even when its headers under-declare the size', () => {
    const bomb = zipSync({
      'bomb.md': new Uint8Array(4 * 1024 * 1024).fill(0x61),
      'ok.md': utf8(file('Ok')),
    });
    expect(bomb.length).toBeLessThan(20_000);
    const limits = { maxFileBytes: 64 * 1024 };
    const honest = readImportFiles([{ name: 'b.zip', bytes: bomb }], limits);
    expect(honest.problems).toEqual([
      { path: 'b.zip/bomb.md', kind: 'error', message: expect.stringMatching(/^too large/) },
    ]);
    expect(honest.notes.map((n) => n.note.title)).toEqual(['Ok']);

    // Lie about the uncompressed size in both headers: the streamed count still stops it.
    const lying = bomb.slice();
    const view = new DataView(lying.buffer);
    for (let i = 0; i + 4 <= lying.length; i++) {
      const signature = view.getUint32(i, true);
      if (signature === 0x04034b50) view.setUint32(i + 22, 10, true);
      if (signature === 0x02014b50) view.setUint32(i + 24, 10, true);
    }
    const lied = readImportFiles([{ name: 'b.zip', bytes: lying }], limits);
    expect(lied.notes.map((n) => n.note.title)).toEqual(['Ok']);
    expect(lied.problems).toEqual([
      { path: 'b.zip/bomb.md', kind: 'error', message: expect.stringMatching(/^too large/) },
    ]);
  });

  it('caps the total unzipped bytes and the number of files', () => {
    const zip = zipSync({
      'a.md': utf8('a'.repeat(1000)),
      'b.md': utf8('b'.repeat(1000)),
      'c.md': utf8('c'),
    });
    const total = readImportFiles([{ name: 'z.zip', bytes: zip }], { maxTotalBytes: 1500 });
    expect(total.notes.map((n) => n.path)).toEqual(['z.zip/a.md']);
    expect(total.problems.map((p) => [p.path, p.message])).toEqual([
      ['z.zip/b.md', expect.stringMatching(/more than 1.5 KiB/)],
      ['z.zip/c.md', expect.stringMatching(/more than 1.5 KiB/)],
    ]);
    const count = readImportFiles([{ name: 'z.zip', bytes: zip }], { maxFiles: 2 });
    expect(count.notes).toHaveLength(2);
    expect(count.problems).toEqual([
      { path: 'z.zip/c.md', kind: 'error', message: expect.stringMatching(/too many files/) },
    ]);
  });

  it('reports a large plain file and a .zip that is not a zip', () => {
    const read = readImportFiles(
      [
        { name: 'big.md', bytes: new Uint8Array(2000).fill(0x61) },
        { name: 'fake.zip', bytes: utf8('not a zip at all') },
      ],
      { maxFileBytes: 1000 },
    );
    expect(read.notes).toEqual([]);
    expect(read.problems).toEqual([
      { path: 'big.md', kind: 'error', message: 'too large (2.0 KiB; the limit is 1000 bytes)' },
      { path: 'fake.zip', kind: 'error', message: 'not a zip file' },
    ]);
    const cut = zipSync({ 'a.md': utf8(`${'a'.repeat(3000)}${'b'.repeat(3000)}`) }, { level: 0 });
    const truncated = readImportFiles([{ name: 'cut.zip', bytes: cut.slice(0, 100) }]);
    expect(truncated.notes).toEqual([]);
    expect(truncated.problems.map((p) => [p.path, p.kind])).toEqual([['cut.zip', 'error']]);
  });
});
