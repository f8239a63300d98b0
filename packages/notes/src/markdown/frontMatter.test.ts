import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNoteFile, NoteFileError, parseNoteFile } from './frontMatter.ts';
import { readImportFiles } from './readImportFiles.ts';

const note = {
  id: 'abcDEF123_-xyz',
  title: 'Groceries',
  body: '# List\n\n- milk\n',
  createdAt: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
  updatedAt: Date.UTC(2024, 5, 6, 7, 8, 9, 10),
  trashedAt: null,
};

describe('formatNoteFile', () => {
  it('writes title, id and ISO dates as front matter, then the body verbatim', () => {
    expect(formatNoteFile(note)).toBe(
      [
        '---',
        'title: Groceries',
        'id: abcDEF123_-xyz',
        'created: 2024-01-02T03:04:05.678Z',
        'updated: 2024-06-06T07:08:09.010Z',
        '---',
        '# List',
        '',
        '- milk',
        '',
      ].join('\n'),
    );
  });

  it('adds trashed only for a trashed note', () => {
    const text = formatNoteFile({ ...note, trashedAt: Date.UTC(2025, 0, 1) });
    expect(text).toContain('\ntrashed: 2025-01-01T00:00:00.000Z\n');
    expect(formatNoteFile(note)).not.toContain('trashed');
  });

  it('quotes titles YAML would read as something else', () => {
    for (const title of [
      '123',
      'true',
      'null',
      '',
      ' padded ',
      'a: b',
      '"quoted"',
      "it's",
      '- x',
      '#tag',
      '---',
      '{a}',
    ]) {
      expect(parseNoteFile(formatNoteFile({ ...note, title }), 'file').title).toBe(title);
    }
  });
});

describe('parseNoteFile', () => {
  it('round-trips bodies that start with --- or hold front-matter-like blocks', () => {
    for (const body of [
      '---\nnot: front matter\n---\n',
      '---',
      '\n---\n',
      '',
      '\r\n---\r\nx',
      '\uFEFFbom',
    ]) {
      expect(parseNoteFile(formatNoteFile({ ...note, body }), 'f').body).toBe(body);
    }
  });

  it('takes a file without front matter as body, titled by its file name', () => {
    expect(parseNoteFile('# Hello\n\ntext', 'hello')).toEqual({
      id: null,
      title: 'hello',
      body: '# Hello\n\ntext',
      createdAt: null,
      updatedAt: null,
      trashedAt: null,
    });
    // An unclosed leading rule is Markdown, not front matter.
    expect(parseNoteFile('---\nrule above', 'r').body).toBe('---\nrule above');
  });

  it('reads CRLF front matter, a BOM, date-only and numeric dates, and updated defaulting to created', () => {
    const parsed = parseNoteFile(
      '\uFEFF---\r\ntitle: T\r\ncreated: 2024-03-01\r\n---\r\nbody',
      'f',
    );
    expect(parsed).toMatchObject({ title: 'T', body: 'body', createdAt: Date.UTC(2024, 2, 1) });
    expect(parsed.updatedAt).toBe(parsed.createdAt);
    expect(parseNoteFile('---\ncreated: 1700000000000\n---\n', 'f').createdAt).toBe(
      1_700_000_000_000,
    );
  });

  it('keeps front matter with keys it does not know in the body (nothing lost)', () => {
    const text = '---\ntitle: From Obsidian\ntags: [a, b]\n---\nbody';
    expect(parseNoteFile(text, 'f')).toMatchObject({ title: 'From Obsidian', body: text });
  });

  it('ignores an id that cannot name a note', () => {
    expect(parseNoteFile('---\nid: a/b\n---\n', 'f').id).toBeNull();
    expect(parseNoteFile('---\nid: 42\n---\n', 'f').id).toBeNull();
  });

  it('rejects broken front matter with a clear message', () => {
    const cases: [string, RegExp][] = [
      ['---\ntitle: "unclosed\n---\nbody', /broken front matter/],
      ['---\ntitle: a\ntitle: b\n---\n', /broken front matter/],
      ['---\n- a list\n---\n', /expected "key: value" lines/],
      ['---\ncreated: last tuesday\n---\n', /created is not a date/],
      ['---\ntitle: [1, 2]\n---\n', /title must be text/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseNoteFile(text, 'f')).toThrow(NoteFileError);
      expect(() => parseNoteFile(text, 'f')).toThrow(message);
    }
  });
});

describe('round trip (property)', () => {
  const time = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) });
  const arbitraryNote = fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/),
    // Any code points, newlines and YAML syntax included.
    title: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('---', 'a: b', '"', "'", '# x', '- y', ' ', '\n', 'null', '0x1F', '~'),
    ),
    body: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 50 }).map((s) => `---\n${s}\n---\n${s}`),
    ),
    createdAt: time,
    updatedAt: time,
    trashedAt: fc.option(time, { nil: null }),
  });

  it('export → import gives the identical note, through UTF-8 bytes', () => {
    fc.assert(
      fc.property(arbitraryNote, (n) => {
        const bytes = new TextEncoder().encode(formatNoteFile(n));
        const read = readImportFiles([{ name: 'n.md', bytes }]);
        expect(read.problems).toEqual([]);
        expect(read.notes[0]?.note).toEqual(n);
      }),
      { numRuns: 500 },
    );
  });
});
