import type { Page } from 'playwright-core';

/**
 * The page's waits resolve from its own events, not by polling over CDP: on
 * two saturated cores, `waitForFunction` polling every 10–25 ms cost a
 * fresh 1,000-note load ~100 ms of CPU across the processes and ~5 % of its
 * wall time (bench/README.md, "Fresh device, twelfth round"), and the raw
 * baseline, one `evaluate` awaiting a promise, never paid it.
 */

/**
 * tsx compiles the bench with esbuild's keepNames, which wraps named functions
 * in `__name(fn, "name")`; functions sent to the page (init scripts,
 * `page.evaluate`, these waits) carry those calls, so every page the bench
 * drives needs a no-op `__name`: add this as an init script of its context.
 */
export const KEEP_NAMES_SHIM = { content: 'globalThis.__name = (fn) => fn;' };

/** How long a wait may take before it rejects inside the page: a lost page must not hang the run. */
const DEFAULT_TIMEOUT_MS = 300_000;

/**
 * Resolves once the app's replica reports `synced` with at least `docs` docs
 * synced (the index doc plus every note): a fresh load is complete.
 */
export async function waitAllSynced(
  page: Page,
  docs: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  await page.evaluate(
    ({ n, ms }) =>
      new Promise<void>((resolve, reject) => {
        interface Lattice {
          replica: {
            progress: { synced: number; total: number };
            status: { state: string };
            onStatus(listener: () => void): () => void;
          };
        }
        const deadline = performance.now() + ms;
        const timeout = setTimeout(
          () => reject(new Error(`not every one of ${n} docs synced within ${ms} ms`)),
          ms,
        );
        const watch = () => {
          const lattice = (window as unknown as { __lattice?: Lattice }).__lattice;
          if (lattice === undefined) {
            // Before the app exposes its replica (its first ~100 ms): a timer in the page.
            if (performance.now() < deadline) setTimeout(watch, 5);
            return;
          }
          const { replica } = lattice;
          let unsubscribe: (() => void) | null = null;
          const check = () => {
            if (replica.status.state !== 'synced' || replica.progress.synced < n) return false;
            clearTimeout(timeout);
            unsubscribe?.();
            resolve();
            return true;
          };
          if (!check()) unsubscribe = replica.onStatus(check);
        };
        watch();
      }),
    { n: docs, ms: timeoutMs },
  );
}

/** Resolves once the page has a performance mark `name` (taken before the call or after). */
export async function waitForMark(page: Page, name: string, timeoutMs: number): Promise<void> {
  await page.evaluate(
    ({ n, ms }) =>
      new Promise<void>((resolve, reject) => {
        const observer = new PerformanceObserver((list) => {
          if (list.getEntriesByName(n, 'mark').length === 0) return;
          clearTimeout(timeout);
          observer.disconnect();
          resolve();
        });
        const timeout = setTimeout(() => {
          observer.disconnect();
          reject(new Error(`no ${n} mark within ${ms} ms`));
        }, ms);
        // `buffered`: a mark taken before this call is delivered too.
        observer.observe({ type: 'mark', buffered: true });
      }),
    { n: name, ms: timeoutMs },
  );
}
