import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { NoteStore } from '../NoteStore.ts';
import { MemoryDocSource } from '../testing/index.ts';
import { collectNotes } from './collectNotes.ts';
import { exportMarkdownFiles, zipFiles } from './exportNotes.ts';
import { importNotes } from './importNotes.ts';
import { readImportFiles } from './readImportFiles.ts';

const stores: NoteStore[] = [];
let clock = Date.UTC(2025, 0, 1);

async function openStore(workspaceId = 'ws') {
  const store = await NoteStore.open({
    workspaceId,
    source: new MemoryDocSource(),
    now: () => (clock += 1000),
  });
  stores.push(store);
  return store;
}

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

async function exportZip(store: NoteStore): Promise<Uint8Array> {
  const { notes, incomplete } = await collectNotes(store);
  expect(incomplete).toEqual([]);
  return zipFiles(exportMarkdownFiles(notes));
}

async function importZip(store: NoteStore, zip: Uint8Array, name = 'export.zip') {
  return importNotes(store, readImportFiles([{ name, bytes: zip }]));
}

/** A workspace with same-titled notes, awkward titles, an empty note and a trashed one. */
async function seed(store: NoteStore) {
  await store.create({ title: 'Plan', body: '# Plan\n\n- [ ] ship' });
  await store.create({ title: 'Plan', body: 'another plan' });
  await store.create({ title: 'a/b: "c" 🎉', body: '---\nnot front matter\n---\n' });
  await store.create({ title: '' });
  await store.create({ title: '' });
  const old = await store.create({ title: 'Old', body: 'gone soon' });
  store.trash(old);
  await store.edit(old, (body) => body.insert(0, 'edited: '));
}

function snapshot(store: NoteStore) {
  return [...store.list(), ...store.list({ trashed: true })]
    .map(({ id, title, createdAt, updatedAt, trashedAt }) => ({
      id,
      title,
      createdAt,
      updatedAt,
      trashedAt,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe('export → import → export', () => {
  it('gives byte-identical zips and the same notes (ids, titles, bodies, dates, trash)', async () => {
    const source = await openStore();
    await seed(source);
    source.flush();
    const zip = await exportZip(source);
    expect(Object.keys(unzipSync(zip))).toEqual([
      'Plan.md',
      'Plan (2).md',
      'a-b- -c- 🎉.md',
      'Untitled.md',
      'Untitled (2).md',
      'Trash/Old.md',
    ]);

    const target = await openStore('other');
    const report = await importZip(target, zip);
    expect(report).toMatchObject({ imported: 6, unchanged: 0, skipped: 0, errors: 0 });
    expect(report.files.every((f) => f.status === 'imported')).toBe(true);
    expect(snapshot(target)).toEqual(snapshot(source));
    for (const { id } of snapshot(source)) {
      const [a, b] = [await source.openNote(id), await target.openNote(id)];
      expect(b.body.toString()).toBe(a.body.toString());
      a.release();
      b.release();
    }
    expect(await exportZip(target)).toEqual(zip);
  });
});

describe('importNotes never overwrites or duplicates silently', () => {
  it('re-importing the same export changes nothing', async () => {
    const store = await openStore();
    await seed(store);
    const zip = await exportZip(store);
    const before = snapshot(store);
    const report = await importZip(store, zip);
    expect(report).toMatchObject({ imported: 0, unchanged: 6, errors: 0 });
    expect(snapshot(store)).toEqual(before);
  });

  it('a changed note comes in as a new note beside the existing one', async () => {
    const store = await openStore();
    const id = await store.create({ title: 'Draft', body: 'v1' });
    const zip = await exportZip(store);
    await store.edit(id, (body) => body.insert(2, ' and more'));
    const report = await importZip(store, zip);
    expect(report.files).toEqual([
      {
        path: 'export.zip/Draft.md',
        status: 'copied',
        noteId: expect.any(String),
        message: expect.stringMatching(/taken by a different or deleted note/),
      },
    ]);
    const copy = report.files[0]?.noteId ?? '';
    expect(copy).not.toBe(id);
    const [mine, theirs] = [await store.openNote(id), await store.openNote(copy)];
    expect([mine.body.toString(), theirs.body.toString()]).toEqual(['v1 and more', 'v1']);
    mine.release();
    theirs.release();
  });

  it('never reuses the id of a purged note (its doc may still hold the old body)', async () => {
    const store = await openStore();
    const id = await store.create({ title: 'Purged', body: 'text' });
    const zip = await exportZip(store);
    await store.purge(id);
    const report = await importZip(store, zip);
    expect(report.files[0]?.status).toBe('copied');
    expect(report.files[0]?.noteId).not.toBe(id);
    await expect(store.create({ id, title: 'x' })).rejects.toThrow(/already used id/);
  });

  it('files without ids get new ones; an identical title and body is recognised', async () => {
    const store = await openStore();
    const md = (text: string) => new TextEncoder().encode(text);
    const first = await importNotes(
      store,
      readImportFiles([
        { name: 'Shopping.md', bytes: md('eggs') },
        { name: 'broken.md', bytes: md('---\ncreated: soon\n---\n') },
        { name: 'photo.jpg', bytes: new Uint8Array([0xff, 0xd8]) },
      ]),
    );
    expect(first).toMatchObject({ imported: 1, skipped: 1, errors: 1 });
    expect(first.files.map((f) => [f.path, f.status])).toEqual([
      ['broken.md', 'error'],
      ['photo.jpg', 'skipped'],
      ['Shopping.md', 'copied'],
    ]);
    const again = await importNotes(
      store,
      readImportFiles([{ name: 'Shopping.md', bytes: md('eggs') }]),
    );
    expect(again).toMatchObject({ imported: 0, unchanged: 1 });
    expect(store.list().map((n) => n.title)).toEqual(['Shopping']);
  });

  it('keeps dates from front matter, defaulting to now', async () => {
    const store = await openStore();
    const md = new TextEncoder().encode(
      '---\ntitle: Dated\ncreated: 2020-02-03T04:05:06.007Z\n---\nx',
    );
    const report = await importNotes(store, readImportFiles([{ name: 'd.md', bytes: md }]));
    const note = store.get(report.files[0]?.noteId ?? '');
    expect(note).toMatchObject({
      title: 'Dated',
      createdAt: Date.UTC(2020, 1, 3, 4, 5, 6, 7),
      updatedAt: Date.UTC(2020, 1, 3, 4, 5, 6, 7),
      trashedAt: null,
    });
  });
});
