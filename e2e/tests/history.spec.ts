import type { Page } from '@playwright/test';
import {
  bodyOf,
  createNote,
  editorText,
  expectSynced,
  insertInEditor,
  noteIds,
  noteTitles,
  openApp,
  syncBadge,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';
import { RelayProcess } from '../harness/RelayProcess.ts';

interface Version {
  id: string;
  at: number;
  authors: string[];
  reason: string;
  title: string | null;
}

/** GET a history route of a relay (auth off: no token). */
async function history<T>(relay: RelayProcess, path: string): Promise<T> {
  const res = await fetch(`${relay.url}/api/history/${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Waits until the relay holds a version of the note whose body is exactly `body`; returns its id. */
async function versionWithBody(
  relay: RelayProcess,
  ws: string,
  noteId: string,
  body: string,
): Promise<string> {
  let found = '';
  await expect
    .poll(
      async () => {
        const { versions } = await history<{ versions: Version[] }>(relay, `${ws}/notes/${noteId}`);
        for (const v of versions) {
          const content = await history<{ body: string }>(relay, `${ws}/notes/${noteId}/${v.id}`);
          if (content.body === body) {
            found = v.id;
            return true;
          }
        }
        return false;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  return found;
}

async function identityName(page: Page): Promise<string> {
  return page.evaluate(() => JSON.parse(localStorage.getItem('lattice:identity') ?? '{}').name);
}

test('history restore across two devices keeps a concurrent edit made elsewhere', async ({
  browser,
}) => {
  // Two devices, an offline spell and several relay round trips on a shared, busy machine.
  test.setTimeout(240_000);
  const relay = await RelayProcess.start({ extraArgs: ['--history-interval', '300ms'] });
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  try {
    const a = await openApp(deviceA, relay.url);
    const v1 = 'Alpha line. Beta line.';
    const noteId = await createNote(a, 'Plan', '');
    await insertInEditor(a, v1);
    await expectSynced(a);
    const ws = workspaceIdOf(a);
    const v1Id = await versionWithBody(relay, ws, noteId, v1);

    const v2 = `${v1} Gamma rewrite.`;
    await insertInEditor(a, ' Gamma rewrite.');
    await expectSynced(a);
    await versionWithBody(relay, ws, noteId, v2);

    const b = await openApp(deviceB, a.url());
    await expect.poll(() => editorText(b)).toBe(v2);
    await expectSynced(b);

    // A keeps working offline, at the start of the note: concurrent with B's restore.
    await deviceA.setOffline(true);
    await expect(syncBadge(a)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
    const editor = a.locator('[data-testid=editor] .cm-content');
    await editor.click();
    await a.keyboard.press('ControlOrMeta+Home');
    await a.keyboard.insertText('Top. ');
    await expect.poll(() => editorText(a)).toBe(`Top. ${v2}`);
    // Offline, the panel says where history lives instead of failing.
    await a.getByTestId('history-button').click();
    await expect(a.getByTestId('history-offline')).toContainText('needs a connection to a relay');

    await b.getByTestId('history-button').click();
    const panel = b.getByTestId('history-panel');
    await expect(panel).toBeVisible();
    await expect(panel.getByTestId('history-entry').first()).toBeVisible();
    const entry = panel.locator(`[data-testid=history-entry][data-version-id="${v1Id}"]`);
    await expect(entry).toContainText(await identityName(a));
    await entry.click();
    const diff = panel.getByTestId('history-diff');
    await expect(diff.locator('del')).toContainText('Gamma rewrite.');
    await panel.getByTestId('history-restore').click();
    await expect.poll(() => editorText(b)).toBe(v1);
    await expect(panel.getByTestId('history-status')).toContainText('Restored');
    await expect(panel.getByTestId('history-restore')).toBeDisabled();
    await expectSynced(b);

    await deviceA.setOffline(false);
    await expectSynced(a, 30_000);
    await expectSynced(b, 30_000);
    await expect.poll(() => editorText(a), { timeout: 20_000 }).toBe(`Top. ${v1}`);
    await expect.poll(() => editorText(b), { timeout: 20_000 }).toBe(`Top. ${v1}`);
    // The restore is an ordinary edit: the relay versions it like any other.
    await versionWithBody(relay, ws, noteId, `Top. ${v1}`);
  } finally {
    await deviceA.close();
    await deviceB.close();
    await relay.dispose();
  }
});

test('purging a note leaves a version of it on the relay, listed as purged with its content', async ({
  browser,
}) => {
  // A long interval: the only version can come from the purge itself.
  const relay = await RelayProcess.start({ extraArgs: ['--history-interval', '10m'] });
  const device = await browser.newContext();
  try {
    const page = await openApp(device, relay.url);
    const noteId = await createNote(page, 'Secret recipe', '');
    await insertInEditor(page, 'Two cups of flour, one of sugar.');
    await expectSynced(page);
    const ws = workspaceIdOf(page);
    const before = await history<{ versions: Version[] }>(relay, `${ws}/notes/${noteId}`);
    expect(before.versions).toEqual([]);

    await page.getByTestId('trash-note').click();
    await page.getByTestId('purge-note').click();
    await expect.poll(() => noteIds(page, true)).not.toContain(noteId);
    await expectSynced(page);

    let versionId = '';
    await expect
      .poll(
        async () => {
          const { notes } = await history<{
            notes: { noteId: string; title: string; versionId: string | null }[];
          }>(relay, `${ws}/purged`);
          const note = notes.find((n) => n.noteId === noteId);
          versionId = note?.versionId ?? '';
          return note?.title;
        },
        { timeout: 20_000 },
      )
      .toBe('Secret recipe');
    const content = await history<{ body: string; title: string; reason: string }>(
      relay,
      `${ws}/notes/${noteId}/${versionId}`,
    );
    expect(content).toMatchObject({
      reason: 'purge',
      title: 'Secret recipe',
      body: 'Two cups of flour, one of sugar.',
    });

    // The Trash view lists it under "Deleted forever"; it comes back as a new note.
    await page.getByTestId('show-trash').click();
    const purged = page.getByTestId('purged-note').filter({ hasText: 'Secret recipe' });
    await expect(purged).toBeVisible();
    await purged.getByTestId('purged-restore').click();
    await expect(purged.getByTestId('purged-restore')).toHaveText('Restored');
    await expect.poll(() => noteTitles(page)).toContain('Secret recipe');
    const [revived] = (await noteIds(page)).filter((id) => id !== noteId);
    expect(revived).toBeDefined();
    expect(await bodyOf(page, revived ?? '')).toBe('Two cups of flour, one of sugar.');
  } finally {
    await device.close();
    await relay.dispose();
  }
});
