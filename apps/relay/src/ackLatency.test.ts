import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage, Replica } from '@lattice/replication';
import { afterAll, describe, expect, it } from 'vitest';
import { startRelay } from './index.ts';
import { wsTransportFactory } from './testing/index.ts';

const EDITS = 500;

let dataDir = '';
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('ack latency', () => {
  it(`measures ${EDITS} durable acks through the relay app (LevelDB, synced writes) on loopback`, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lattice-acks-'));
    // Default relay settings: 3 ms group-commit window, LevelDB writes with sync: true.
    const relay = await startRelay({
      auth: 'off',
      host: '127.0.0.1',
      port: 0,
      dataDir,
      webDir: dataDir,
    });
    const replica = new Replica({
      storage: new MemoryStorage(),
      relays: [`ws://127.0.0.1:${relay.port}/sync`],
      transportFactory: wsTransportFactory,
    });
    try {
      const handle = await replica.open('w/latency');
      await replica.whenSynced();
      const text = handle.doc.getText('body');
      const latencies: number[] = [];
      for (let i = 0; i < EDITS; i++) {
        const started = performance.now();
        text.insert(text.length, 'k');
        await replica.whenAcked();
        latencies.push(performance.now() - started);
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const p50 = percentile(sorted, 50);
      const p99 = percentile(sorted, 99);
      console.log(
        `ack latency over ${EDITS} edits (edit → relay ack of the durable write): ` +
          `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`,
      );
      expect(latencies).toHaveLength(EDITS);
      expect(replica.status.pendingLocal).toBe(false);
      // Loopback with a 3 ms commit window: anything near a second means acks wait on something else.
      expect(p50).toBeLessThan(100);
      expect(p99).toBeLessThan(500);
    } finally {
      await replica.destroy();
      await relay.close();
    }
  }, 60_000);
});
