/**
 * Resolves once `check()` holds, looking every 2 ms; rejects after
 * `timeoutMs` (for the room tests, whose conditions follow a commit window).
 */
export async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
