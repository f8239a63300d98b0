import { test as base } from '@playwright/test';
import { Cluster, type ClusterOptions } from './Cluster.ts';
import { FaultProxy } from './FaultProxy.ts';
import { RelayProcess } from './RelayProcess.ts';

/**
 * `relay`: a real relay process per test, on a free loopback port and a temp data dir.
 * `faultProxy`: a `FaultProxy` in front of it (load the app from its `url` to put faults in its way;
 * not `proxy`, which is Playwright's own browser proxy option).
 * `cluster`: relays A, B, C gossiping in a full mesh through fault proxies (see `Cluster`);
 * `test.use({ clusterOptions })` changes its names or relay arguments.
 */
export const test = base.extend<{
  relay: RelayProcess;
  faultProxy: FaultProxy;
  clusterOptions: ClusterOptions;
  cluster: Cluster;
}>({
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
  clusterOptions: [{}, { option: true }],
  cluster: async ({ clusterOptions }, use) => {
    const cluster = await Cluster.start(clusterOptions);
    try {
      await use(cluster);
    } finally {
      await cluster.dispose();
    }
  },
});

export { expect } from '@playwright/test';
