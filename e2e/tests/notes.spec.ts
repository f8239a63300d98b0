import {
  bodyOf,
  createNote,
  editorText,
  expectEachOnce,
  expectSynced,
  noteIds,
  openApp,
  openNoteByTitle,
  syncBadge,
  typeInEditor,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

test('trash on one device while the other edits offline keeps the edits; restore brings it back', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const id = await createNote(a, 'Draft', 'first');
  await expectSynced(a);
  const b = await openApp(deviceB, a.url());
  await openNoteByTitle(b, 'Draft');
  await expect.poll(() => editorText(b)).toContain('first');
  await expectSynced(b);

  await deviceB.setOffline(true);
  await expect(syncBadge(b)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await typeInEditor(b, ' offlineedit1 offlineedit2');
  await openNoteByTitle(a, 'Draft');
  await a.getByTestId('trash-note').click();
  await expect.poll(() => noteIds(a, true)).toContain(id);
  await expectSynced(a);

  await deviceB.setOffline(false);
  await expectSynced(b, 30_000);
  await expectSynced(a, 30_000);
  for (const page of [a, b]) {
    await expect.poll(() => noteIds(page, true)).toContain(id);
    await expect.poll(() => noteIds(page)).not.toContain(id);
    expectEachOnce(await bodyOf(page, id), ['first', 'offlineedit1', 'offlineedit2']);
  }

  await a.getByTestId('show-trash').click();
  await a.getByTestId('note-item').filter({ hasText: 'Draft' }).click();
  await a.getByTestId('restore-note').first().click();
  await expect.poll(() => noteIds(b)).toContain(id);
  expectEachOnce(await bodyOf(b, id), ['first', 'offlineedit1', 'offlineedit2']);
  await deviceA.close();
  await deviceB.close();
});

test('every note is on a device that never opened it, readable offline', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const notes = [
    ['Groceries', 'milk eggs bread'],
    ['Ideas', 'a note app that merges'],
    ['Reading', 'designing data intensive applications'],
  ] as const;
  for (const [title, body] of notes) await createNote(a, title, body);
  await expectSynced(a);

  const deviceB = await browser.newContext();
  const b = await openApp(deviceB, a.url().replace(/(\/w\/[^/]+).*/, '$1'));
  await expectSynced(b, 30_000);
  await b.evaluate(() =>
    (
      window as unknown as { __lattice: { replica: { whenSynced(): Promise<void> } } }
    ).__lattice.replica.whenSynced(),
  );
  await deviceB.setOffline(true);
  await expect(syncBadge(b)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  for (const [title, body] of notes) {
    await openNoteByTitle(b, title);
    await expect.poll(() => editorText(b)).toBe(body);
  }
  await deviceA.close();
  await deviceB.close();
});
