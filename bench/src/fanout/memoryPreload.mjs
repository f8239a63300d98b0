// Preloaded into a fan-out server (`FANOUT_SERVER_NODE_ARGS="--import
// <this file>"`): every 2 s appends one line to
// `<FANOUT_MEMORY_DIR>/<script>-<pid>.log` splitting its RSS into file-backed
// pages, V8's heap (physical), anonymous memory outside it, and the main
// malloc arena — where a server's RSS lives, which the RSS alone cannot say.
import { appendFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import v8 from 'node:v8';

const out = join(
  process.env.FANOUT_MEMORY_DIR ?? '.',
  `${basename(process.argv[1] ?? 'node')}-${process.pid}.log`,
);
const started = performance.now();
const mib = (kb) => (kb / 1024).toFixed(1);

setInterval(() => {
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  // The main arena is the one mapping named [heap]; its Rss follows its header line.
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  const brk = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+)/.exec(smaps)?.[1] ?? '0';
  const v8Kb =
    v8.getHeapSpaceStatistics().reduce((sum, space) => sum + space.physical_space_size, 0) / 1024;
  const rss = field('Rss');
  const anon = field('Anonymous');
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  appendFileSync(
    out,
    `${seconds}s rss ${mib(rss)} file ${mib(rss - anon)} v8 ${mib(v8Kb)} ` +
      `anon-outside-v8 ${mib(anon - v8Kb)} malloc-main ${mib(Number(brk))} MiB\n`,
  );
}, 2000).unref();
