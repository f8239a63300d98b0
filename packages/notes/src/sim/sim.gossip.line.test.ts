import { describe, it } from 'vitest';
import { runSeeds } from './runSeed.ts';

// Gossiping relays, part 2 of the multi-relay CI set (see sim.gossip.mesh): a
// line R0–R1–…, so everything between the ends passes through relays between.
describe('seeded simulation, 3 replicas and 3–5 relays in a line (seeds 300001–300500)', () => {
  it(
    'every replica and every relay converge with nothing acknowledged or stored lost',
    () =>
      runSeeds(300_001, 500, (seed) => ({
        replicas: 3,
        relays: 3 + (seed % 3),
        topology: 'line',
        // Half the default schedule length keeps 1,000 gossip seeds within the CI budget.
        steps: [25, 50],
      })),
    600_000,
  );
});
