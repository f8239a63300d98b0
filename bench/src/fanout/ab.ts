/**
 * Before/after of a relay change, interleaved: `FANOUT_BEFORE=<other checkout>/apps/relay/bin/relay.mjs
 * node --import tsx bench/src/fanout/ab.ts [rate ...]` measures that relay and this
 * checkout's, alternately, at 500 clients / 100 docs per rate (default 5 and 20
 * edits/s per client), `FANOUT_AB_PAIRS` pairs each (default 2), and prints both
 * (`FANOUT_CPU_PROF=<dir>`: under `--cpu-prof`). How the before/after
 * numbers in bench/README.md "Fan-out" were taken.
 */
import { measure } from './index.ts';

const before = process.env.FANOUT_BEFORE;
if (before === undefined) throw new Error('set FANOUT_BEFORE to the relay.mjs to compare against');
const rates = process.argv.slice(2).map(Number);
/** Interleaved before/after pairs per rate (`FANOUT_AB_PAIRS`, default 2). */
const pairs = Number(process.env.FANOUT_AB_PAIRS ?? 2);
for (const rate of rates.length > 0 ? rates : [5, 20]) {
  for (let pair = 0; pair < pairs; pair++) {
    const order = pair % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const which of order) {
      if (which === 'before') process.env.FANOUT_RELAY_BIN = before;
      else delete process.env.FANOUT_RELAY_BIN;
      const m = await measure(
        'lattice',
        { docs: 100, perDoc: 5, rate },
        {
          generators: 2,
          warmupMs: 2000,
          measureMs: 8000,
          drainMs: 1500,
          seed: 1 + pair,
          // Profiles of both relays, to compare their shares (`profileTop.ts`).
          ...(process.env.FANOUT_CPU_PROF ? { cpuProfDir: process.env.FANOUT_CPU_PROF } : {}),
        },
      );
      process.stdout.write(
        `${which} rate ${rate}: delivery p50 ${m.delivery.p50.toFixed(1)} p99 ${m.delivery.p99.toFixed(1)} ms, ` +
          `ack p99 ${m.ack.p99.toFixed(1)} ms, relay CPU ${m.serverCpuPct.toFixed(1)} % ` +
          // Per edit delivered: comparable between runs that fell behind by different amounts.
          `(${((m.serverCpuPct * 10) / m.achieved).toFixed(3)} ms CPU per edit), ` +
          `RSS ${m.serverRssMiB.toFixed(0)} MiB, generators ${m.generatorCpuPct.toFixed(0)} %, ` +
          `delivered ${(m.deliveredFraction * 100).toFixed(1)} %, achieved ${m.achieved.toFixed(0)}/s\n`,
      );
    }
  }
}
