// Preloaded into a fan-out server (`FANOUT_SERVER_NODE_ARGS="--import
// <this file>"`): samples the allocations that outlive minor collections
// (promoted to the old generation, or still live when it stops) with V8's
// sampling heap profiler, and writes `<FANOUT_PROMOTED_DIR>/<script>-<pid>.heapprofile`
// after `FANOUT_PROMOTED_MS` (default 11,000). Read it with promotedTop.ts.
// Garbage that only a full collection frees is what makes a server's RSS
// climb between collections; short-lived objects are left out.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { basename, join } from 'node:path';

const dir = process.env.FANOUT_PROMOTED_DIR ?? '.';
const out = join(dir, `${basename(process.argv[1] ?? 'node')}-${process.pid}.heapprofile`);
const session = new inspector.Session();
session.connect();
const fail = (err) => process.stderr.write(`promotedPreload: ${err.message}\n`);
session.post('HeapProfiler.enable');
session.post(
  'HeapProfiler.startSampling',
  {
    samplingInterval: 8192,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  },
  (err) => err && fail(err),
);
setTimeout(
  () => {
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (err) return fail(err);
      writeFileSync(out, JSON.stringify(res.profile));
    });
  },
  Number(process.env.FANOUT_PROMOTED_MS ?? 11_000),
).unref();
