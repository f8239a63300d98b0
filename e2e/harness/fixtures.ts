import { test as base } from '@playwright/test';
import { FaultProxy } from './FaultProxy.ts';
import { RelayProcess } from './RelayProcess.ts';

/**
 * `relay`: a real relay process per test, on a free loopback port and a temp data dir.
 * `faultProxy`: a `FaultProxy` in front of it (load the app from its `url` to put faults in its way;
 * not `proxy`, which is Playwright's own browser proxy option).
 */
export const test = base.extend<{ relay: RelayProcess; faultProxy: FaultProxy }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructuring pattern here
  relay: async ({}, use) => {
    const relay = await RelayProcess.start();
    try {
      await use(relay);
    } finally {
      await relay.dispose();
    }
  },
  faultProxy: async ({ relay }, use) => {
    const proxy = await FaultProxy.start(relay);
    try {
      await use(proxy);
    } finally {
      await proxy.close();
    }
  },
});

export { expect } from '@playwright/test';
