import { test as base } from '@playwright/test';
import { RelayProcess } from './RelayProcess.ts';

/** `relay`: a real relay process per test, on a free loopback port and a temp data dir. */
export const test = base.extend<{ relay: RelayProcess }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
  relay: async ({}, use) => {
    const relay = await RelayProcess.start();
    try {
      await use(relay);
    } finally {
      await relay.dispose();
    }
  },
});

export { expect } from '@playwright/test';
