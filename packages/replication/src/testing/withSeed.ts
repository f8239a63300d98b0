/**
 * Runs a seeded property check (fast-check with `{ seed }`). A failure names
 * the seed and the environment variable that replays it, e.g.
 * `LEVEL_FC_SEED=123`.
 */
export async function withSeed(
  seed: number,
  envName: string,
  check: () => Promise<void>,
): Promise<void> {
  try {
    await check();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`property failed, seed ${seed} (rerun with ${envName}=${seed})\n${message}`, {
      cause: error,
    });
  }
}
