/**
 * The three fan-out servers interleaved at given rates, without the saturation
 * ladder or result files: `node --import tsx bench/src/fanout/compare.ts
 * [rate ...]` (edits/s per client, default 5), `FANOUT_ROUNDS` rounds
 * (default 2, alternating order), `FANOUT_SYSTEMS=lattice,floor` for a subset,
 * `FANOUT_CPU_PROF=<dir>` to run the servers under `--cpu-prof`.
 * Prints each measurement and the CPU per edit, for quick looks at the
 * transport floor next to Lattice and Hocuspocus.
 */
import { measure } from './index.ts';
import type { System } from './messages.ts';

const rates = process.argv.slice(2).map(Number);
const rounds = Number(process.env.FANOUT_ROUNDS ?? 2);
const systems = (process.env.FANOUT_SYSTEMS ?? 'lattice,hocuspocus,floor').split(',') as System[];
for (const rate of rates.length > 0 ? rates : [5]) {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? systems : [...systems].reverse();
    for (const system of order) {
      const m = await measure(
        system,
        { docs: 100, perDoc: 5, rate },
        {
          generators: 2,
          warmupMs: 2000,
          measureMs: 8000,
          drainMs: 1500,
          seed: 1 + round,
          ...(process.env.FANOUT_CPU_PROF ? { cpuProfDir: process.env.FANOUT_CPU_PROF } : {}),
        },
      );
      process.stdout.write(
        `${system} rate ${rate}: delivery p50 ${m.delivery.p50.toFixed(1)} p99 ${m.delivery.p99.toFixed(1)} ms, ` +
          `ack p99 ${m.ack.p99.toFixed(1)} ms, CPU ${m.serverCpuPct.toFixed(1)} % ` +
          `(${((m.serverCpuPct * 10) / m.achieved).toFixed(3)} ms per edit), ` +
          `RSS ${m.serverRssMiB.toFixed(0)} MiB, generators ${m.generatorCpuPct.toFixed(0)} % ` +
          `(lag p99 ${m.generatorLagP99Ms.toFixed(0)} ms), delivered ${(m.deliveredFraction * 100).toFixed(1)} %, ` +
          `achieved ${m.achieved.toFixed(0)}/s\n`,
      );
    }
  }
}
