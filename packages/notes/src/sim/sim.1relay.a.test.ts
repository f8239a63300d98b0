import { describe, it } from 'vitest';
import { runSeeds } from './runSeed.ts';

// The CI run of the simulation is split over files so two workers share it
// (this one and sim.1relay.b; sim.test.ts adds the 2-relay seeds).
describe('seeded simulation, 3 replicas and 1 relay (seeds 1–600)', () => {
  it(
    'converge with nothing acknowledged or stored lost',
    () => runSeeds(1, 600, { replicas: 3, relays: 1 }),
    600_000,
  );
});
