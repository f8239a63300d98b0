#!/usr/bin/env node
// Regenerates docs/screenshot.png, docs/replication-panel.png and
// docs/share-dialog.png: a real relay, two notes typed in Chromium, then the
// Replication panel and the Share dialog with two links.
// Usage: pnpm --filter @lattice/e2e screenshot
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'lattice-shot-'));
const relay = spawn(
  process.execPath,
  [join(root, 'apps/relay/bin/relay.mjs'), '--port', '0', '--data-dir', dataDir],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise((ok, fail) => {
  relay.stdout.setEncoding('utf8');
  relay.stdout.on('data', (s) => {
    const m = /listening on (http:\/\/\S+)/.exec(s);
    if (m) ok(m[1]);
  });
  relay.once('exit', (code) => fail(new Error(`relay exited with ${code}`)));
});
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find(
  (p) => p && existsSync(p),
);
const browser = await chromium.launch({
  executablePath,
  args: [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(url);
  await page.waitForFunction(() => Boolean(window.__lattice?.store));
  await page.getByTestId('display-name').fill('Ada');
  const notes = [
    [
      'Reading list',
      '# Reading list\n\n- *Designing Data-Intensive Applications*\n- Terry et al., *Session guarantees for weakly consistent replicated data*\n- Shapiro et al., *Conflict-free replicated data types*\n',
    ],
    [
      'Trip to Lisbon',
      '# Trip to Lisbon\n\n- [x] book flights\n- [ ] pastéis de nata at Belém\n- [ ] tram 28\n',
    ],
  ];
  for (const [title, body] of notes) {
    await page.getByTestId('new-note').click();
    await page.getByTestId('note-title').fill(title);
    await page.locator('[data-testid=editor] .cm-content').click();
    await page.keyboard.insertText(body);
  }
  await page
    .getByTestId('sync-status')
    .and(page.locator('[data-state=synced][data-pending=false]'))
    .waitFor();
  const out = join(root, 'docs/screenshot.png');
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
  await page.getByTestId('open-replication').click();
  await page.getByTestId('replication-panel').waitFor();
  const panel = join(root, 'docs/replication-panel.png');
  await page.screenshot({ path: panel });
  console.log(`wrote ${panel}`);
  // The relay runs with auth on (the default): the workspace was claimed, so the owner may share.
  await page.getByTestId('close-replication').click();
  await page.getByTestId('share-button').click();
  await page.getByTestId('share-role').selectOption('read');
  await page.getByTestId('share-expiry').selectOption('7d');
  await page.getByTestId('share-create').click();
  await page.getByTestId('share-link').waitFor();
  await page.getByTestId('share-role').selectOption('write');
  await page.getByTestId('share-expiry').selectOption('never');
  await page.getByTestId('share-create').click();
  await page.getByTestId('share-revoke').nth(1).waitFor();
  const share = join(root, 'docs/share-dialog.png');
  await page.screenshot({ path: share });
  console.log(`wrote ${share}`);
} finally {
  await browser.close();
  relay.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
