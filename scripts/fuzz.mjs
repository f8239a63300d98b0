#!/usr/bin/env node
// `pnpm test:fuzz --seeds N [--from S] [--relays R] [--replicas P] [--topology mesh|line|none]`:
// runs N seeds of the seeded simulation (packages/notes/src/sim), beyond the
// ones CI runs. Relays gossip (`mesh`: every pair peered; `line`: R0–R1–R2…)
// unless `--topology none` (independent relays; the default with one relay).
// Every failing seed is printed as `seed=<n> …` with its schedule; rerun one
// with `--seeds 1 --from <n> --verbose` and the same other flags.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const usage =
  'usage: pnpm test:fuzz --seeds N [--from S] [--relays R] [--replicas P] [--topology mesh|line|none] [--verbose]';
const TOPOLOGIES = ['mesh', 'line', 'none'];
const options = {
  seeds: 1000,
  from: 1,
  relays: 1,
  replicas: 3,
  topology: undefined,
  verbose: false,
};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--') continue;
  if (arg === '--verbose') {
    options.verbose = true;
    continue;
  }
  if (arg === '--topology') {
    const value = args[++i];
    if (!TOPOLOGIES.includes(value)) {
      console.error(
        `bad argument --topology ${value ?? ''}: one of ${TOPOLOGIES.join(', ')}\n${usage}`,
      );
      process.exit(2);
    }
    options.topology = value;
    continue;
  }
  const key = arg.replace(/^--/, '');
  const value = Number(args[++i]);
  if (
    !['seeds', 'from', 'relays', 'replicas'].includes(key) ||
    !Number.isInteger(value) ||
    value < 0
  ) {
    console.error(`bad argument ${arg} ${args[i] ?? ''}\n${usage}`);
    process.exit(2);
  }
  options[key] = value;
}
if (options.seeds < 1 || options.relays < 1 || options.replicas < 1 || options.from > 0xffffffff) {
  console.error(usage);
  process.exit(2);
}
if (options.topology !== undefined && options.topology !== 'none' && options.relays < 2) {
  console.error(`--topology ${options.topology} needs --relays 2 or more\n${usage}`);
  process.exit(2);
}

const result = spawnSync(
  'pnpm',
  ['exec', 'vitest', 'run', '--project', 'notes', 'packages/notes/src/sim/fuzz.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      SIM_SEEDS: String(options.seeds),
      SIM_FROM: String(options.from),
      SIM_RELAYS: String(options.relays),
      SIM_REPLICAS: String(options.replicas),
      ...(options.topology ? { SIM_TOPOLOGY: options.topology } : {}),
      ...(options.verbose ? { SIM_VERBOSE: '1' } : {}),
    },
  },
);
process.exit(result.status ?? 1);
