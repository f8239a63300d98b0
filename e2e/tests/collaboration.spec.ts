import {
  bodyOf,
  createNote,
  editorText,
  expectConcurrentTyping,
  expectEachOnce,
  expectSynced,
  noteIds,
  openApp,
  openNoteByTitle,
  syncBadge,
  typeInEditor,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

test('a note created on one device appears on the other; simultaneous typing converges', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const id = await createNote(a, 'Shared plan', 'start ');
  await expectSynced(a);

  const b = await openApp(deviceB, a.url());
  expect(workspaceIdOf(b)).toBe(workspaceIdOf(a));
  await expect(b.getByTestId('note-item').filter({ hasText: 'Shared plan' })).toBeVisible();
  await openNoteByTitle(b, 'Shared plan');
  await openNoteByTitle(a, 'Shared plan');
  await expect.poll(() => editorText(b)).toContain('start');

  const typedA = ` ${Array.from({ length: 15 }, (_, i) => `a${i}x`).join(' ')}`;
  const typedB = ` ${Array.from({ length: 15 }, (_, i) => `b${i}y`).join(' ')}`;
  await Promise.all([typeInEditor(a, typedA, 15), typeInEditor(b, typedB, 15)]);
  await expectSynced(a);
  await expectSynced(b);
  await expect.poll(async () => (await bodyOf(a, id)) === (await bodyOf(b, id))).toBe(true);
  const text = await bodyOf(a, id);
  expectConcurrentTyping(text, 'start ', typedA, typedB);
  await expect.poll(() => editorText(b)).toBe(text);
  await deviceA.close();
  await deviceB.close();
});

test('offline device keeps writing and both converge when it returns', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const shared = await createNote(a, 'Shared', 'base');
  await expectSynced(a);
  const b = await openApp(deviceB, a.url());
  await openNoteByTitle(b, 'Shared');
  await expect.poll(() => editorText(b)).toContain('base');
  await expectSynced(b);

  await deviceB.setOffline(true);
  // The socket goes half-open, not closed: the front end must notice by itself.
  await expect(syncBadge(b)).toHaveAttribute('data-state', 'offline', { timeout: 10_000 });
  await expect(syncBadge(b)).toContainText('Offline');

  await openNoteByTitle(a, 'Shared');
  await typeInEditor(a, ' online1 online2');
  const onlyA = await createNote(a, 'From A', 'alpha1 alpha2');
  await typeInEditor(b, ' offline1 offline2');
  const onlyB = await createNote(b, 'From B', 'beta1 beta2');
  await expect(syncBadge(b)).toHaveAttribute('data-pending', 'true');

  await deviceB.setOffline(false);
  await expectSynced(a, 30_000);
  await expectSynced(b, 30_000);
  const expected = [...new Set([...(await noteIds(a)), onlyB])].sort();
  expect(expected).toEqual(expect.arrayContaining([shared, onlyA, onlyB]));
  for (const page of [a, b]) {
    await expect.poll(() => noteIds(page).then((ids) => ids.sort())).toEqual(expected);
  }
  const sharedText = await bodyOf(a, shared);
  expect(await bodyOf(b, shared)).toBe(sharedText);
  expectEachOnce(sharedText, ['base', 'online1', 'online2', 'offline1', 'offline2']);
  expectEachOnce(await bodyOf(b, onlyA), ['alpha1', 'alpha2']);
  expectEachOnce(await bodyOf(a, onlyB), ['beta1', 'beta2']);
  await deviceA.close();
  await deviceB.close();
});

test('reload while the relay is down opens from the service worker; edits reach the other device later', async ({
  browser,
  relay,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const id = await createNote(a, 'Travel', 'packing list');
  await expectSynced(a);
  const b = await openApp(deviceB, a.url());
  await openNoteByTitle(b, 'Travel');
  await expectSynced(b);

  await relay.stop();
  await b.reload();
  await b.waitForFunction(() => Boolean((window as { __lattice?: unknown }).__lattice));
  await expect(b.getByTestId('note-item').filter({ hasText: 'Travel' })).toBeVisible();
  await openNoteByTitle(b, 'Travel');
  await expect.poll(() => editorText(b)).toContain('packing list');
  await expect(syncBadge(b)).toHaveAttribute('data-state', /offline|connecting/);
  await typeInEditor(b, ' passport');

  await relay.resume();
  await expectSynced(b, 30_000);
  await expect.poll(() => bodyOf(a, id), { timeout: 30_000 }).toContain('passport');
  await deviceA.close();
  await deviceB.close();
});

test('a restarted relay serves every note to a brand-new device', async ({ browser, relay }) => {
  const deviceA = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  const titles = ['One', 'Two', 'Three'];
  const ids: string[] = [];
  for (const t of titles) ids.push(await createNote(a, t, `body of ${t.toLowerCase()}`));
  await expectSynced(a);
  const allIds = (await noteIds(a)).sort();
  expect(allIds).toEqual(expect.arrayContaining(ids));
  const workspaceUrl = a.url();
  await deviceA.close();

  await relay.restart();
  const deviceC = await browser.newContext();
  const c = await openApp(deviceC, workspaceUrl.replace(/\/w\/([^/]+).*/, '/w/$1'));
  await expectSynced(c, 30_000);
  await expect.poll(() => noteIds(c).then((x) => x.sort())).toEqual(allIds);
  for (const [i, t] of titles.entries()) {
    expect(await bodyOf(c, ids[i]!)).toBe(`body of ${t.toLowerCase()}`);
  }
  await deviceC.close();
});
