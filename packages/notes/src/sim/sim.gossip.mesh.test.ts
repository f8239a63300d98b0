import { describe, it } from 'vitest';
import { runSeeds } from './runSeed.ts';

// Gossiping relays, part 1 of the multi-relay CI set (sim.gossip.line has the
// other half), in its own file so the two vitest workers share the load.
describe('seeded simulation, 3 replicas and 3–5 relays in full mesh (seeds 200001–200500)', () => {
  it(
    'every replica and every relay converge with nothing acknowledged or stored lost',
    () =>
      runSeeds(200_001, 500, (seed) => ({
        replicas: 3,
        relays: 3 + (seed % 3),
        topology: 'mesh',
        // Half the default schedule length keeps 1,000 gossip seeds within the CI budget.
        steps: [25, 50],
      })),
    600_000,
  );
});
