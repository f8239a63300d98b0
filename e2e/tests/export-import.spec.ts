import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import {
  bodyOf,
  createNote,
  expectSynced,
  openApp,
  openNoteByTitle,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

const CLI = fileURLToPath(new URL('../../apps/cli/bin/lattice.mjs', import.meta.url));

/** Every note of the page's workspace (trash included) with its body, sorted by id. */
async function allNotes(page: Page) {
  const summaries = await page.evaluate(() => {
    const store = (
      window as unknown as {
        __lattice: {
          store: {
            list(o?: { trashed?: boolean }): {
              id: string;
              title: string;
              createdAt: number;
              updatedAt: number;
              trashedAt: number | null;
            }[];
          };
        };
      }
    ).__lattice.store;
    return [...store.list(), ...store.list({ trashed: true })].map(
      ({ id, title, createdAt, updatedAt, trashedAt }) => ({
        id,
        title,
        createdAt,
        updatedAt,
        trashedAt,
      }),
    );
  });
  const notes = [];
  for (const summary of summaries) notes.push({ ...summary, body: await bodyOf(page, summary.id) });
  return notes.sort((a, b) => (a.id < b.id ? -1 : 1));
}

function runCli(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir = '';
test.beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lattice-export-e2e-'));
});
test.afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('export the workspace as a zip, import it into a new workspace: every note, title, body, date and trash state equal; the CLI export matches byte for byte', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  await createNote(a, 'Groceries', 'milk eggs bread');
  await createNote(a, 'Plan', '# Plan - ship it');
  await createNote(a, 'Plan', 'another plan');
  await createNote(a, 'Q: "why"? a/b 🎉', 'emoji and colons');
  await createNote(a, 'Old', 'for the trash');
  await a.getByTestId('trash-note').click();
  await expectSynced(a);

  // One note on its own: `<title>.md` with front matter.
  await openNoteByTitle(a, 'Groceries');
  const [noteDownload] = await Promise.all([
    a.waitForEvent('download'),
    a.getByTestId('export-note').click(),
  ]);
  expect(noteDownload.suggestedFilename()).toBe('Groceries.md');
  const noteFile = await readFile((await noteDownload.path()) ?? '', 'utf8');
  expect(noteFile).toMatch(
    /^---\ntitle: Groceries\nid: \S+\ncreated: \S+Z\nupdated: \S+Z\n---\nmilk eggs bread$/,
  );

  // The whole workspace, from a fresh page that never opened a note: export reads them all.
  const fresh = await openApp(deviceA, a.url().replace(/(\/w\/[^/]+).*/, '$1'));
  await a.close();
  // Read the source once the fresh page has caught up with the relay: its first list
  // may predate the last index write (a CI run read a stale `updatedAt` of the trashed note).
  await expectSynced(fresh);
  // Five notes and the workspace's welcome note.
  const source = await allNotes(fresh);
  expect(source).toHaveLength(6);
  const [zipDownload] = await Promise.all([
    fresh.waitForEvent('download'),
    fresh.getByTestId('export-workspace').click(),
  ]);
  expect(zipDownload.suggestedFilename()).toMatch(/^lattice-[\w-]+-\d{4}-\d{2}-\d{2}\.zip$/);
  const zipPath = join(dir, 'export.zip');
  await zipDownload.saveAs(zipPath);
  await expect(fresh.getByTestId('import-result')).toContainText('Exported 6 notes');

  // Import into a new workspace on another device.
  const deviceB = await browser.newContext();
  const b = await openApp(deviceB, relay.url);
  expect(workspaceIdOf(b)).not.toBe(workspaceIdOf(fresh));
  // B's own welcome note stays; everything from A comes in beside it, with A's ids.
  const [welcome] = await allNotes(b);
  const withoutWelcome = async () => (await allNotes(b)).filter((n) => n.id !== welcome?.id);
  await b.getByTestId('import-input').setInputFiles(zipPath);
  const result = b.getByTestId('import-result');
  await expect(result).toHaveAttribute('data-imported', '6');
  await expect(result).toHaveAttribute('data-errors', '0');
  await expect(result).toContainText('Imported 6 notes');
  expect(await withoutWelcome()).toEqual(source);
  await expect(b.getByTestId('note-item').filter({ hasText: 'Q: "why"? a/b 🎉' })).toBeVisible();

  // Importing the same zip again adds nothing.
  await b.getByTestId('import-input').setInputFiles(zipPath);
  await expect(result).toContainText('Imported 0 notes, 6 already here');
  expect(await withoutWelcome()).toEqual(source);

  // The CLI, against the relay, exports the imported notes to the same bytes.
  await b.evaluate(
    (id) =>
      (
        window as unknown as { __lattice: { store: { purge(id: string): Promise<void> } } }
      ).__lattice.store.purge(id),
    welcome?.id ?? '',
  );
  expect(await allNotes(b)).toEqual(source);
  await expectSynced(b);
  const cliZip = join(dir, 'cli.zip');
  const cli = await runCli([
    'export',
    '--relay',
    relay.url,
    '--workspace',
    workspaceIdOf(b),
    '--out',
    cliZip,
    '--quiet',
  ]);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect(Buffer.compare(await readFile(cliZip), await readFile(zipPath))).toBe(0);
  await deviceA.close();
  await deviceB.close();
});

test('importing a folder reports bad files and imports the rest', async ({ browser, relay }) => {
  const folder = join(dir, 'notes');
  await mkdir(join(folder, 'sub'), { recursive: true });
  await writeFile(join(folder, 'Hello.md'), '# Hello\n\nfrom a folder');
  await writeFile(
    join(folder, 'sub', 'Dated.md'),
    '---\ntitle: Dated note\ncreated: 2020-02-03T04:05:06.007Z\n---\nold text',
  );
  await writeFile(join(folder, 'broken.md'), '---\ntitle: "unclosed\n---\nbody');
  await writeFile(join(folder, 'picture.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  const context = await browser.newContext();
  const page = await openApp(context, relay.url);
  await page.getByTestId('import-folder-input').setInputFiles(folder);
  const result = page.getByTestId('import-result');
  await expect(result).toHaveAttribute('data-imported', '2');
  await expect(result).toHaveAttribute('data-errors', '1');
  await expect(result).toContainText('notes/broken.md: broken front matter');
  await expect(result).toContainText('notes/picture.png: not a Markdown (.md) file');
  const notes = (await allNotes(page)).filter((n) => n.title !== 'Welcome to Lattice');
  expect(notes.map((n) => [n.title, n.body]).sort()).toEqual([
    ['Dated note', 'old text'],
    ['Hello', '# Hello\n\nfrom a folder'],
  ]);
  expect(notes.find((n) => n.title === 'Dated note')?.createdAt).toBe(
    Date.UTC(2020, 1, 3, 4, 5, 6, 7),
  );
  await expectSynced(page);
  await context.close();
});
