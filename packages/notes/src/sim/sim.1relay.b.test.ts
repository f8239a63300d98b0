import { describe, it } from 'vitest';
import { runSeeds } from './runSeed.ts';

describe('seeded simulation, 3 replicas and 1 relay (seeds 601–1000)', () => {
  it(
    'converge with nothing acknowledged or stored lost',
    () => runSeeds(601, 400, { replicas: 3, relays: 1 }),
    600_000,
  );
});
