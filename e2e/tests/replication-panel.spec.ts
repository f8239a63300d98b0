import type { Page } from '@playwright/test';
import { createNote, expectSynced, openApp, syncBadge, typeInEditor } from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

// What a person sees about replication: the badge's wording and the Replication panel.

/** Each state-vector table as rows of [writer, this device, relay], plus its doc name. */
async function vectorTables(page: Page) {
  return page.getByTestId('sv-table').evaluateAll((tables) =>
    tables.map((table) => ({
      doc: table.getAttribute('data-doc') ?? '',
      rows: Array.from(table.querySelectorAll('tbody tr'), (tr) =>
        Array.from(tr.children, (cell) => cell.textContent ?? ''),
      ),
      behind: table.querySelectorAll('td.behind').length,
    })),
  );
}

test('the replication panel shows what is on this device and what the relay confirmed', async ({
  browser,
  relay,
  faultProxy,
}) => {
  const device = await browser.newContext();
  const page = await openApp(device, faultProxy.url);
  const noteId = await createNote(page, 'Panel', 'first words');
  await expectSynced(page);
  await expect(syncBadge(page)).toHaveText('All changes saved on relay');

  await page.getByTestId('open-replication').click();
  const panel = page.getByTestId('replication-panel');
  await expect(panel).toBeVisible();
  const relayCard = panel.getByTestId('relay-info');
  await expect(relayCard).toHaveCount(1);
  await expect(relayCard).toHaveAttribute('data-state', 'connected');
  await expect(relayCard).toContainText(faultProxy.syncUrl);
  const health = (await fetch(`${relay.url}/healthz`).then((r) => r.json())) as { relayId: string };
  await expect(relayCard).toContainText(health.relayId);
  await expect(relayCard.getByTestId('relay-rtt')).toHaveText(/^(<1|\d+) ms$/);
  await expect(panel.getByTestId('rp-pending')).toHaveAttribute('data-value', '0');
  await expect(panel.getByTestId('rp-saved-relay')).toContainText('Yes');
  await expect(panel.getByTestId('rp-last-sync')).not.toContainText('never');
  await expect(panel.getByTestId('session-ok')).toBeVisible();

  // The open note's doc and the index doc, each with this device's clock equal to the relay's.
  const workspaceId = new URL(page.url()).pathname.split('/')[2] as string;
  await expect
    .poll(async () => (await vectorTables(page)).map((t) => t.doc))
    .toEqual([`${workspaceId}/${noteId}`, workspaceId]);
  for (const table of await vectorTables(page)) {
    expect(table.rows.length).toBeGreaterThan(0);
    expect(table.behind).toBe(0);
    for (const [, local, acked] of table.rows) expect(local).toBe(acked);
  }

  // The relay stops answering: the note is saved here only, and the panel shows by how much.
  faultProxy.blackhole();
  await typeInEditor(page, ' more words');
  await expect(syncBadge(page)).toHaveAttribute('data-pending', 'true');
  await expect(syncBadge(page)).not.toContainText('on relay');
  await expect(panel.getByTestId('rp-pending')).not.toHaveAttribute('data-value', '0');
  await expect(panel.getByTestId('rp-saved-relay')).toContainText('Not yet');
  await expect.poll(async () => (await vectorTables(page))[0]?.behind).toBe(1);
  const [noteTable] = await vectorTables(page);
  const [, local, acked] = noteTable?.rows[0] ?? [];
  expect(Number(local)).toBeGreaterThan(Number(acked));
  await expect(relayCard).toHaveAttribute('data-state', /offline|connecting/, { timeout: 10_000 });

  faultProxy.pass();
  await expectSynced(page, 30_000);
  await expect(panel.getByTestId('rp-pending')).toHaveAttribute('data-value', '0');
  await expect.poll(async () => (await vectorTables(page)).map((t) => t.behind)).toEqual([0, 0]);

  // Closable by its button and by Escape.
  await panel.getByTestId('close-replication').click();
  await expect(panel).toBeHidden();
  await page.getByTestId('open-replication').click();
  await expect(panel).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await device.close();
});

test('a note whose doc is still on its way shows as arriving, never as an empty note', async ({
  browser,
  relay,
  faultProxy,
}) => {
  const deviceA = await browser.newContext();
  const deviceB = await browser.newContext();
  const a = await openApp(deviceA, relay.url);
  await expectSynced(a);
  const path = new URL(a.url()).pathname;
  // B sits behind a slow link: the index entry reaches it a full round trip before the note
  // doc it names, because B only asks for a note doc once it has seen the entry.
  const b = await openApp(deviceB, `${faultProxy.url}${path}`);
  await expectSynced(b);
  faultProxy.delay(1500);

  const id = await a.evaluate(() =>
    (
      window as unknown as {
        __lattice: { store: { create(init: { title: string; body: string }): Promise<string> } };
      }
    ).__lattice.store.create({ title: 'Late', body: 'arrives late' }),
  );
  const item = b.locator(`[data-testid=note-item][data-note-id="${id}"]`);
  await expect(item).toHaveAttribute('data-arriving', 'true', { timeout: 10_000 });
  await expect(item).toContainText('Arriving…');
  await item.getByRole('button').click();
  await expect(b.getByTestId('note-arriving')).toBeVisible();
  await expect(b.getByTestId('editor')).toHaveCount(0);

  await expect(b.getByTestId('note-arriving')).toBeHidden({ timeout: 15_000 });
  await expect(b.locator('[data-testid=editor] .cm-content')).toContainText('arrives late');
  await expect(item).toHaveAttribute('data-arriving', 'false');
  await expect(item).toContainText('arrives late');
  await deviceA.close();
  await deviceB.close();
});

test('a link carries its session: the device that opens it warns until it has caught up', async ({
  browser,
  relay,
  faultProxy,
}) => {
  const deviceA = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const a = await openApp(deviceA, relay.url);
  await createNote(a, 'Seen here', 'what the sharer read');
  await expectSynced(a);
  await a.getByTestId('copy-link').click();
  await expect(a.getByTestId('copy-link')).toHaveText('Link copied');
  const link = new URL(await a.evaluate(() => navigator.clipboard.readText()));
  expect(link.hash).toMatch(/^#session=ls1\./);

  // B loads the app directly but syncs through the proxy, dark for now: it is behind what A saw.
  faultProxy.blackhole();
  const deviceB = await browser.newContext();
  const b = await openApp(
    deviceB,
    `${relay.url}${link.pathname}?relay=${encodeURIComponent(faultProxy.syncUrl)}${link.hash}`,
  );
  expect(new URL(b.url()).hash).toBe('');
  await b.getByTestId('open-replication').click();
  const warning = b.getByTestId('session-warning').first();
  await expect(warning).toBeVisible();
  await expect(syncBadge(b)).not.toHaveAttribute('data-warnings', '0');
  const workspaceId = link.pathname.split('/')[2] as string;
  await expect(b.locator(`[data-testid=session-warning][data-doc="${workspaceId}"]`)).toHaveCount(
    1,
  );

  // Never "No notes yet": the list is behind what this session has seen, and says so.
  await expect(b.getByTestId('list-arriving')).toBeVisible();
  await expect(b.getByText('No notes yet')).toHaveCount(0);

  faultProxy.pass();
  await expect(b.getByTestId('session-warning')).toHaveCount(0, { timeout: 20_000 });
  await expect(b.getByTestId('session-ok')).toBeVisible();
  await expect(syncBadge(b)).toHaveAttribute('data-warnings', '0');
  await expect(b.getByTestId('list-arriving')).toHaveCount(0);
  await expect(b.getByTestId('note-title')).toHaveValue('Seen here');
  await deviceA.close();
  await deviceB.close();
});
