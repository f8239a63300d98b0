import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import {
  createNote,
  editorText,
  expectSynced,
  openApp,
  openNoteByTitle,
  typeInEditor,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';
import { RelayProcess } from '../harness/RelayProcess.ts';

// Every spec here runs the relay as it ships: auth on.
const relays: RelayProcess[] = [];
test.afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.dispose()));
});

async function authRelay(options: Parameters<typeof RelayProcess.start>[0] = {}) {
  const relay = await RelayProcess.start({ auth: 'on', ...options });
  relays.push(relay);
  return relay;
}

/** The token this browser stored for the open workspace. */
async function storedToken(page: Page): Promise<string | null> {
  return page.evaluate((id) => {
    const list = JSON.parse(localStorage.getItem('lattice:workspaces') ?? '[]') as {
      id: string;
      token?: string;
    }[];
    return list.find((entry) => entry.id === id)?.token ?? null;
  }, workspaceIdOf(page));
}

/** Makes a share link in the owner's Share dialog. */
async function shareViaDialog(page: Page, role: 'read' | 'write'): Promise<string> {
  await page.getByTestId('share-button').click();
  const dialog = page.getByTestId('share-dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByTestId('share-role').selectOption(role);
  await dialog.getByTestId('share-expiry').selectOption('1h');
  await expect(dialog.getByTestId('share-link')).toHaveCount(0);
  await dialog.getByTestId('share-create').click();
  await expect(dialog.getByTestId('share-link')).toBeVisible();
  const link = await dialog.getByTestId('share-link').inputValue();
  expect(link).toMatch(/\/w\/[A-Za-z0-9_-]+#token=/);
  await dialog.getByTestId('share-close').click();
  return link;
}

/** Mints a share through the HTTP API with the owner token (for what the dialog does not offer). */
async function shareViaApi(
  relay: RelayProcess,
  workspaceId: string,
  ownerToken: string,
  body: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${relay.url}/api/workspaces/${workspaceId}/shares`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  const { token } = (await response.json()) as { token: string };
  return `${relay.url}/w/${workspaceId}#token=${token}`;
}

async function expectAccessScreen(page: Page, problem: string, title: string): Promise<void> {
  const screen = page.getByTestId('access-screen');
  await expect(screen).toBeVisible();
  await expect(screen).toHaveAttribute('data-problem', problem);
  await expect(screen.getByRole('heading')).toHaveText(title);
}

async function ownerWithNote(page: Page, title: string, body: string): Promise<string> {
  await createNote(page, title, body);
  await expectSynced(page);
  const token = await storedToken(page);
  expect(token).not.toBeNull();
  return token as string;
}

test('a fresh device claims its workspace and its notes are saved on the relay', async ({
  browser,
}) => {
  const relay = await authRelay();
  const device = await browser.newContext();
  const page = await openApp(device, relay.url);
  await expectSynced(page);
  const token = await storedToken(page);
  expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  await expect(page.getByTestId('share-button')).toBeVisible();
  await createNote(page, 'Claimed', 'mine');
  await expectSynced(page);
  // The relay now knows the workspace: a second claim of the id is refused.
  const again = await fetch(`${relay.url}/api/workspaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: workspaceIdOf(page) }),
  });
  expect(again.status).toBe(409);
  // The token never stays in the address bar or reaches the relay's logs.
  expect(relay.stderr).not.toContain(token as string);
  await device.close();
});

test('a read link shows the notes read-only; writes made anyway never leave the reader', async ({
  browser,
}) => {
  const relay = await authRelay();
  const ownerCtx = await browser.newContext();
  const owner = await openApp(ownerCtx, relay.url);
  await ownerWithNote(owner, 'Plan', 'owner text');
  const link = await shareViaDialog(owner, 'read');

  const readerCtx = await browser.newContext();
  const reader = await openApp(readerCtx, link);
  expect(reader.url()).not.toContain('token=');
  await expect(reader.getByTestId('readonly-badge')).toHaveText('Read-only');
  await expect(reader.getByTestId('note-item').filter({ hasText: 'Plan' })).toBeVisible();
  await openNoteByTitle(reader, 'Plan');
  await expect.poll(() => editorText(reader)).toContain('owner text');
  await expect(reader.locator('.cm-content')).toHaveAttribute('contenteditable', 'false');
  await expect(reader.getByTestId('note-title')).toHaveAttribute('readonly', '');
  await expect(reader.getByTestId('new-note')).toBeDisabled();
  await expect(reader.getByTestId('trash-note')).toBeDisabled();
  await expect(reader.getByTestId('share-button')).toHaveCount(0);

  // Live edits of the owner still arrive.
  await openNoteByTitle(owner, 'Plan');
  await typeInEditor(owner, ' more');
  await expect.poll(() => editorText(reader)).toContain('more');

  // Around the UI: a note written straight into the reader's store.
  await reader.evaluate(async () => {
    const w = window as unknown as {
      __lattice: { store: { create(n: { title: string; body: string }): Promise<string> } };
    };
    await w.__lattice.store.create({ title: 'Sneaky', body: 'should not spread' });
  });
  await expect(reader.getByTestId('note-item').filter({ hasText: 'Sneaky' })).toBeVisible();
  await expect(reader.getByTestId('sync-status')).toHaveAttribute('data-pending', 'true');
  await owner.waitForTimeout(1500);
  await expect(owner.getByTestId('note-item').filter({ hasText: 'Sneaky' })).toHaveCount(0);

  // Not stored either: after a restart the owner syncs everything the relay holds.
  await relay.restart();
  await expectSynced(owner, 30_000);
  await owner.reload();
  await expectSynced(owner, 30_000);
  await expect(owner.getByTestId('note-item').filter({ hasText: 'Plan' })).toBeVisible();
  await expect(owner.getByTestId('note-item').filter({ hasText: 'Sneaky' })).toHaveCount(0);
  await ownerCtx.close();
  await readerCtx.close();
});

test('a write link edits both ways', async ({ browser }) => {
  const relay = await authRelay();
  const ownerCtx = await browser.newContext();
  const owner = await openApp(ownerCtx, relay.url);
  await ownerWithNote(owner, 'Shared', 'from owner');
  const link = await shareViaDialog(owner, 'write');

  const writerCtx = await browser.newContext();
  const writer = await openApp(writerCtx, link);
  await expect(writer.getByTestId('readonly-badge')).toHaveCount(0);
  await openNoteByTitle(writer, 'Shared');
  await openNoteByTitle(owner, 'Shared');
  await typeInEditor(writer, ' and writer');
  await expect.poll(() => editorText(owner)).toContain('and writer');
  await typeInEditor(owner, ' and back');
  await expect.poll(() => editorText(writer)).toContain('and back');
  await expectSynced(writer);
  await ownerCtx.close();
  await writerCtx.close();
});

test('revoking a link disconnects its live session at once and shows No access', async ({
  browser,
}) => {
  const relay = await authRelay();
  const ownerCtx = await browser.newContext();
  const owner = await openApp(ownerCtx, relay.url);
  await ownerWithNote(owner, 'Secret', 'x');
  const link = await shareViaDialog(owner, 'write');
  const guestCtx = await browser.newContext();
  const guest = await openApp(guestCtx, link);
  await expectSynced(guest);

  await owner.getByTestId('share-button').click();
  const dialog = owner.getByTestId('share-dialog');
  await expect(dialog.getByTestId('share-revoke')).toHaveCount(1);
  await dialog.getByTestId('share-revoke').click();
  await expect(dialog.getByTestId('share-revoke')).toHaveCount(0);
  await expectAccessScreen(guest, 'forbidden', 'No access');
  // A reload does not get back in.
  await guest.reload();
  await expectAccessScreen(guest, 'forbidden', 'No access');
  await ownerCtx.close();
  await guestCtx.close();
});

test('an expired link shows "This link has expired"', async ({ browser }) => {
  const relay = await authRelay();
  const ownerCtx = await browser.newContext();
  const owner = await openApp(ownerCtx, relay.url);
  const ownerToken = await ownerWithNote(owner, 'Brief', 'x');
  const link = await shareViaApi(relay, workspaceIdOf(owner), ownerToken, {
    role: 'read',
    expiresInSeconds: 2,
  });
  await owner.waitForTimeout(2500);
  const guestCtx = await browser.newContext();
  const guest = await openApp(guestCtx, link);
  await expectAccessScreen(guest, 'expired', 'This link has expired');
  // The way back: a workspace of one's own.
  await guest.getByTestId('access-new-workspace').click();
  await expect(guest.getByTestId('access-screen')).toHaveCount(0);
  await expectSynced(guest);
  await ownerCtx.close();
  await guestCtx.close();
});

test('no token or a tampered token gets No access', async ({ browser }) => {
  const relay = await authRelay();
  const ownerCtx = await browser.newContext();
  const owner = await openApp(ownerCtx, relay.url);
  const ownerToken = await ownerWithNote(owner, 'Private', 'x');
  const workspaceId = workspaceIdOf(owner);

  const strangerCtx = await browser.newContext();
  const stranger = await openApp(strangerCtx, `${relay.url}/w/${workspaceId}`);
  await expectAccessScreen(stranger, 'unauthorized', 'No access');
  await expect(stranger.getByTestId('note-item')).toHaveCount(0);

  const link = await shareViaApi(relay, workspaceId, ownerToken, { role: 'write' });
  const tampered = `${link.slice(0, -4)}${link.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const forgerCtx = await browser.newContext();
  const forger = await openApp(forgerCtx, tampered);
  await expectAccessScreen(forger, 'unauthorized', 'No access');
  await ownerCtx.close();
  await strangerCtx.close();
  await forgerCtx.close();
});

test('a workspace created while the relay is down is claimed when it comes up', async ({
  browser,
}) => {
  const relay = await authRelay();
  const device = await browser.newContext();
  // Load the app once so the service worker can serve it while the relay is down.
  const first = await openApp(device, relay.url);
  await expectSynced(first);
  // Forget it, so that `/` makes a new workspace rather than reopening this one.
  await first.evaluate(() => localStorage.removeItem('lattice:workspaces'));
  await first.close();
  await relay.stop();
  const page = await device.newPage();
  await page.goto(relay.url);
  await page.waitForFunction(() => Boolean((window as { __lattice?: unknown }).__lattice));
  await expect(page).toHaveURL(/\/w\//);
  await createNote(page, 'Made offline', 'kept');
  expect(await storedToken(page)).toBeNull();
  await expect(page.getByTestId('access-screen')).toHaveCount(0);

  await relay.resume();
  await expect.poll(() => storedToken(page), { timeout: 30_000 }).not.toBeNull();
  await expectSynced(page, 30_000);
  await expect(page.getByTestId('access-screen')).toHaveCount(0);
  await device.close();
});

test('two relays with a cluster secret: a link minted on A works on B, a revoke on A closes it on B', async ({
  browser,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-secret-'));
  const secretFile = join(dir, 'cluster-secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64url'));
  try {
    const a = await authRelay({ clusterSecretFile: secretFile });
    const b = await authRelay({
      clusterSecretFile: secretFile,
      extraArgs: ['--peer', `ws://127.0.0.1:${a.port}`],
    });
    const ownerCtx = await browser.newContext();
    const owner = await openApp(ownerCtx, a.url);
    const ownerToken = await ownerWithNote(owner, 'Cluster note', 'on A');
    const workspaceId = workspaceIdOf(owner);
    const response = await fetch(`${a.url}/api/workspaces/${workspaceId}/shares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'write' }),
    });
    const share = (await response.json()) as { token: string; grantId: string };

    const guestCtx = await browser.newContext();
    const guest = await openApp(guestCtx, `${b.url}/w/${workspaceId}#token=${share.token}`);
    await expect(guest.getByTestId('note-item').filter({ hasText: 'Cluster note' })).toBeVisible({
      timeout: 30_000,
    });
    await expectSynced(guest, 30_000);

    const revoked = await fetch(`${a.url}/api/workspaces/${workspaceId}/shares/${share.grantId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ownerToken}` },
    });
    expect(revoked.status).toBe(204);
    await expect(guest.getByTestId('access-screen')).toHaveAttribute('data-problem', 'forbidden', {
      timeout: 30_000,
    });
    await ownerCtx.close();
    await guestCtx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
