import type { SimTopology } from '@lattice/replication/testing';
import { describe, it } from 'vitest';
import { runSeeds } from './runSeed.ts';

// Only for `pnpm test:fuzz --seeds N [--from S] [--relays R] [--replicas P] [--topology T]`
// (scripts/fuzz.mjs sets these).
const env = process.env;
const SEEDS = Number(env.SIM_SEEDS ?? 0);
const FROM = Number(env.SIM_FROM ?? 1);
const RELAYS = Number(env.SIM_RELAYS ?? 1);
const REPLICAS = Number(env.SIM_REPLICAS ?? 3);
const TOPOLOGY = env.SIM_TOPOLOGY as SimTopology | undefined;

describe.runIf(SEEDS > 0)('seeded simulation, fuzzing', () => {
  it(
    `${SEEDS} seeds from ${FROM}, ${REPLICAS} replicas, ${RELAYS} relay(s), topology ${TOPOLOGY ?? 'default'}`,
    () =>
      runSeeds(FROM, SEEDS, {
        replicas: REPLICAS,
        relays: RELAYS,
        ...(TOPOLOGY ? { topology: TOPOLOGY } : {}),
      }),
    24 * 3600_000,
  );
});
