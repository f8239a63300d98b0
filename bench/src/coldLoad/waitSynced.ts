import type { Page } from 'playwright-core';

/**
 * Waits until the app's replica reports `synced` with at least `docs` docs
 * synced (the index doc plus every note): a fresh load is complete.
 */
export async function waitAllSynced(page: Page, docs: number, pollingMs: number): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const l = (
        window as unknown as {
          __lattice?: {
            replica: { progress: { synced: number; total: number }; status: { state: string } };
          };
        }
      ).__lattice;
      return (
        l !== undefined && l.replica.status.state === 'synced' && l.replica.progress.synced >= n
      );
    },
    docs,
    { timeout: 300_000, polling: pollingMs },
  );
}
