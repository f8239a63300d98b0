// Preloaded into a spawned relay by tests that ask how much memory is live
// (`node --expose-gc --import <this file> bin/relay.mjs …`). RSS alone cannot
// tell a leak from garbage V8 has not collected yet: it grows for a minute
// between major collections. On SIGUSR2 this collects fully, then writes one
// line `live-heap <json>` to stderr (stdout carries the relay's own log lines).
process.on('SIGUSR2', () => {
  globalThis.gc();
  const m = process.memoryUsage();
  const sample = {
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    rss: m.rss,
  };
  process.stderr.write(`live-heap ${JSON.stringify(sample)}\n`);
});
