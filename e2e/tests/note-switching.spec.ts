import {
  createNote,
  editorText,
  expectSynced,
  openApp,
  openNoteByTitle,
  typeInEditor,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

// Each note's editor takes a spare CodeMirror view built in idle time, and the
// notes in the list are held open (warmed): neither may carry anything from
// one note to another.

test('undo never crosses notes when the editor is reused between them', async ({
  browser,
  relay,
}) => {
  const device = await browser.newContext();
  const page = await openApp(device, relay.url);
  await createNote(page, 'Alpha', 'alpha base');
  await createNote(page, 'Beta', 'beta base');

  await openNoteByTitle(page, 'Alpha');
  await expect.poll(() => editorText(page)).toBe('alpha base');
  await typeInEditor(page, ' alphaedit');
  await expect.poll(() => editorText(page)).toBe('alpha base alphaedit');

  await openNoteByTitle(page, 'Beta');
  await expect.poll(() => editorText(page)).toBe('beta base');
  // Nothing typed in Beta yet: undo must not reach Alpha's edit (the view's last note).
  await page.locator('[data-testid=editor] .cm-content').click();
  await page.keyboard.press('ControlOrMeta+z');
  await page.keyboard.press('ControlOrMeta+z');
  await expect.poll(() => editorText(page)).toBe('beta base');
  await typeInEditor(page, ' betaedit');
  await expect.poll(() => editorText(page)).toBe('beta base betaedit');

  await openNoteByTitle(page, 'Alpha');
  await expect.poll(() => editorText(page)).toBe('alpha base alphaedit');
  // A's undo history starts with this visit: Beta's edit stays, Alpha's text too.
  await page.locator('[data-testid=editor] .cm-content').click();
  await page.keyboard.press('ControlOrMeta+z');
  await expect.poll(() => editorText(page)).toBe('alpha base alphaedit');
  await typeInEditor(page, ' again');
  await page.keyboard.press('ControlOrMeta+z');
  await expect.poll(() => editorText(page)).toBe('alpha base alphaedit');

  await openNoteByTitle(page, 'Beta');
  await expect.poll(() => editorText(page)).toBe('beta base betaedit');
  await expectSynced(page);
  await device.close();
});

test('a note held open for the list shows what another device wrote since, and presence leaves with the pane', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  await createNote(a, 'Shared', 'from a');
  await createNote(a, 'Other', 'other');
  await expectSynced(a);
  await openNoteByTitle(a, 'Shared');
  const b = await openApp(deviceB, a.url());
  await openNoteByTitle(b, 'Shared');
  await expect.poll(() => editorText(b)).toBe('from a');
  const othersOnA = a.locator('.note-header .presence');
  await expect(othersOnA).toHaveCount(1, { timeout: 10_000 });
  // B leaves the note; it stays warm (open) in B's list while A edits it, but
  // B's name no longer shows in it.
  await openNoteByTitle(b, 'Other');
  // Idle time for B to prepare Shared's editor state again (its first one
  // went to the pane just closed), so A's edit below makes a prepared state stale.
  await b.waitForTimeout(1000);
  await expect(othersOnA).toHaveCount(0, { timeout: 10_000 });
  await typeInEditor(a, ' and more');
  await expectSynced(a);
  await expect
    .poll(
      () =>
        b.evaluate(() =>
          (
            window as unknown as { __lattice: { store: { list(): { snippet: string }[] } } }
          ).__lattice.store
            .list()
            .some((n) => n.snippet.includes('and more')),
        ),
      { timeout: 15_000 },
    )
    .toBe(true);
  await openNoteByTitle(b, 'Shared');
  await expect.poll(() => editorText(b)).toBe('from a and more');
  await deviceA.close();
  await deviceB.close();
});

test('leaving a note right after typing raises no page error (editor plugins outlive their note)', async ({
  browser,
  relay,
}) => {
  const device = await browser.newContext();
  const page = await openApp(device, relay.url);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await createNote(page, 'Alpha', 'alpha base');
  await createNote(page, 'Beta', 'beta base');

  // Each keystroke starts autocompletion's debounce timer; leave before it fires.
  for (const [from, to] of [
    ['Alpha', 'Beta'],
    ['Beta', 'Alpha'],
  ] as const) {
    await openNoteByTitle(page, from);
    await typeInEditor(page, ' x');
    await page.getByTestId('new-note').click();
    await openNoteByTitle(page, to);
    await typeInEditor(page, ' y');
    await page.goBack();
  }
  await page.waitForTimeout(500);
  expect(errors).toEqual([]);
  await expectSynced(page);
  await device.close();
});
