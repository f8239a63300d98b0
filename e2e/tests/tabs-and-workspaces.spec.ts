import {
  bodyOf,
  createNote,
  editorText,
  expectSynced,
  noteIds,
  noteTitles,
  openApp,
  openNoteByTitle,
  syncBadge,
  typeInEditor,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

test('two tabs of one browser stay in sync while offline', async ({ browser, relay }) => {
  const device = await browser.newContext();
  const first = await openApp(device, relay.url);
  const id = await createNote(first, 'Tabs', 'typed in tab one');
  await expectSynced(first);
  const second = await openApp(device, first.url());
  await openNoteByTitle(second, 'Tabs');
  await expect.poll(() => editorText(second)).toContain('typed in tab one');

  await device.setOffline(true);
  await expect(syncBadge(first)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await typeInEditor(second, ' and tab two offline');
  await expect.poll(() => editorText(first)).toContain('typed in tab one and tab two offline');
  const fresh = await createNote(second, 'Made offline', 'in tab two');
  await expect.poll(() => noteIds(first)).toContain(fresh);

  await device.setOffline(false);
  await expectSynced(first, 30_000);
  await expectSynced(second, 30_000);
  expect(await bodyOf(first, id)).toBe('typed in tab one and tab two offline');
  await device.close();
});

test('a person holds several workspaces and switches between them', async ({ browser, relay }) => {
  const device = await browser.newContext();
  const page = await openApp(device, relay.url);
  const firstWorkspace = workspaceIdOf(page);
  await createNote(page, 'In the first', 'one');

  await page.getByTestId('new-workspace').click();
  await expect.poll(() => page.url()).not.toContain(firstWorkspace);
  await page.waitForFunction((old) => {
    const w = (window as unknown as { __lattice?: { workspaceId: string } }).__lattice;
    return w !== undefined && w.workspaceId !== old;
  }, firstWorkspace);
  const secondWorkspace = workspaceIdOf(page);
  await createNote(page, 'In the second', 'two');
  expect(await noteTitles(page)).not.toContain('In the first');
  await expectSynced(page);

  await page.getByTestId('workspace-switcher').selectOption(firstWorkspace);
  await page.waitForFunction(
    (want) =>
      (window as unknown as { __lattice?: { workspaceId: string } }).__lattice?.workspaceId ===
      want,
    firstWorkspace,
  );
  await expect.poll(() => noteTitles(page)).toContain('In the first');
  expect(await noteTitles(page)).not.toContain('In the second');
  await expectSynced(page);

  // Each workspace is replicated on its own: a second device opening the second link sees only it.
  const other = await browser.newContext();
  const remote = await openApp(other, `${relay.url}/w/${secondWorkspace}`);
  await expect.poll(() => noteTitles(remote), { timeout: 20_000 }).toContain('In the second');
  expect(await noteTitles(remote)).not.toContain('In the first');
  await device.close();
  await other.close();
});
