#!/usr/bin/env node
// Finds a Chromium for Playwright: CHROMIUM_PATH, Debian's /usr/bin/chromium,
// or Playwright's own download (other machines). Installs Debian's package when
// none is found and we are root on a Debian-like system; otherwise says exactly
// what is missing. Prints the chosen path on stdout.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function candidates() {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    Boolean,
  );
}

function found() {
  return candidates().find((p) => existsSync(p));
}

let path = found();
if (!path) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.error('chromium not found: installing Debian package "chromium" with apt-get…');
    execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', 'chromium'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    path = found();
  }
}
if (!path) {
  console.error(
    'No Chromium found for the e2e suite. Set CHROMIUM_PATH to a Chromium binary, ' +
      'or install one: `apt-get install -y chromium` (Debian), or `pnpm exec playwright install chromium` ' +
      'where Playwright can download its browser (then set CHROMIUM_PATH=playwright).',
  );
  process.exit(1);
}
console.log(path);
