import { existsSync } from 'node:fs';
import type { LaunchOptions } from '@playwright/test';

/** Flags that keep Chromium from phoning home on a closed network. */
const QUIET_FLAGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Debian's Chromium where present (Playwright cannot download its own browser
 * here), else Playwright's bundled one (`CHROMIUM_PATH=playwright` forces it).
 */
export function chromiumLaunchOptions(): LaunchOptions {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted === 'playwright') return { args: QUIET_FLAGS };
  const path = [wanted, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p): p is string => typeof p === 'string' && p.length > 0 && existsSync(p),
  );
  return path ? { executablePath: path, args: QUIET_FLAGS } : { args: QUIET_FLAGS };
}
