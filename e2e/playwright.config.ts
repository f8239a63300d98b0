import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './harness/browser.ts';

export default defineConfig({
  testDir: './tests',
  // Each test starts its own relay processes and browser contexts; two cores
  // do not leave room for parallel workers without timing noise.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    launchOptions: chromiumLaunchOptions(),
    trace: 'retain-on-failure',
    serviceWorkers: 'allow',
  },
});
