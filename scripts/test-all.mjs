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

function firstLine(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colours
  const plain = String(text ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  const line = plain.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
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
  // CI logs are often read from the tail only: name every failure here too.
  for (const f of r.testResults) {
    const file = f.name.startsWith(root) ? f.name.slice(root.length + 1) : f.name;
    if (f.status === 'failed' && f.assertionResults.length === 0) {
      lines.push(`  ✘ ${file}: did not load — ${firstLine(f.message)}`);
    }
    for (const a of f.assertionResults) {
      if (a.status !== 'failed') continue;
      lines.push(`  ✘ ${file} › ${a.fullName} — ${firstLine(a.failureMessages?.[0])}`);
    }
  }
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
      const report = JSON.parse(readFileSync(pwJson, 'utf8'));
      const s = report.stats;
      passed += s.expected + s.flaky;
      failed += s.unexpected;
      lines.push(
        `e2e: ${s.expected} passed, ${s.flaky} flaky, ${s.unexpected} failed, ${s.skipped} skipped`,
      );
      for (const t of failedSpecs(report.suites ?? [])) lines.push(`  ${t}`);
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

// Playwright's JSON nests suites by file and describe; a spec's tests carry
// the per-project outcome ('unexpected' failed, 'flaky' passed on retry).
function failedSpecs(suites, path = []) {
  const out = [];
  for (const suite of suites) {
    const here = suite.title ? [...path, suite.title] : path;
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== 'unexpected' && t.status !== 'flaky') continue;
        const err = t.results?.find((r) => r.error)?.error?.message;
        const mark = t.status === 'flaky' ? '~ flaky' : '✘';
        out.push(`${mark} ${[...here, spec.title].join(' › ')} — ${firstLine(err)}`);
      }
    }
    out.push(...failedSpecs(suite.suites ?? [], here));
  }
  return out;
}

console.log('\nSummary');
for (const l of lines) console.log(`  ${l}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
