#!/usr/bin/env node
// The one test command: type checks, lint, unit + simulation tests (Vitest),
// the web build, and the Playwright e2e suite against real relay processes.
// Every step runs even if an earlier one failed (except e2e, which needs the
// build and a browser); the last line is `N passed, N failed` over all suites.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(tmpdir(), 'lattice-test-'));
const skipE2e = process.argv.includes('--no-e2e');
let passed = 0;
let failed = 0;
const lines = [];

function run(label, cmd, args, env = {}) {
  const start = Date.now();
  console.log(`\n▶ ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  console.log(`${ok ? '✔' : '✘'} ${label} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  return ok;
}

function check(label, cmd, args) {
  const ok = run(label, cmd, args);
  if (ok) passed++;
  else failed++;
  lines.push(`${label}: ${ok ? 'passed' : 'FAILED'}`);
  return ok;
}

check('typecheck', 'pnpm', ['typecheck']);
check('lint', 'pnpm', ['exec', 'biome', 'check', '.']);

// Vitest: unit, property and simulation tests.
const vitestJson = join(out, 'vitest.json');
const vitestOk = run('unit + simulation (vitest)', 'pnpm', [
  '-s',
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
]);
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A suite that fails to load counts as a failure even with no failed test.
  const brokenFiles = r.testResults.filter(
    (f) => f.status === 'failed' && f.assertionResults.length === 0,
  ).length;
  failed += brokenFiles;
  lines.push(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed`);
} else {
  failed++;
  lines.push('vitest: no report (runner crashed)');
}
if (!vitestOk && failed === 0) failed++;

if (!skipE2e) {
  const built = check('build web app', 'pnpm', ['build']);
  const chromium = spawnSync('node', [join(root, 'scripts/ensure-chromium.mjs')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const browserOk = chromium.status === 0;
  if (!browserOk) {
    failed++;
    lines.push('e2e: no browser (see message above)');
  } else if (!built) {
    failed++;
    lines.push('e2e: skipped because the build failed');
  } else {
    const pwJson = join(out, 'playwright.json');
    run(
      'e2e (playwright)',
      'pnpm',
      ['--filter', '@lattice/e2e', 'exec', 'playwright', 'test', '--reporter=list,json'],
      {
        CHROMIUM_PATH: chromium.stdout.trim(),
        PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson,
      },
    );
    if (existsSync(pwJson)) {
      const s = JSON.parse(readFileSync(pwJson, 'utf8')).stats;
      passed += s.expected + s.flaky;
      failed += s.unexpected;
      lines.push(
        `e2e: ${s.expected} passed, ${s.flaky} flaky, ${s.unexpected} failed, ${s.skipped} skipped`,
      );
      if (s.expected + s.unexpected + s.flaky === 0) {
        failed++;
        lines.push('e2e: ran no test');
      }
    } else {
      failed++;
      lines.push('e2e: no report (runner crashed)');
    }
  }
}

console.log('\nSummary');
for (const l of lines) console.log(`  ${l}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
