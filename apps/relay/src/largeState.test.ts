import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeYMessage,
  FrameType,
  MemoryStorage,
  Replica,
  SyncStep,
  TARGET_BATCH_BYTES,
  YMessageType,
} from '@lattice/replication';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LevelStorage, startRelay } from './index.ts';
import { FrameTally } from './testing/index.ts';

const DOCS = 2000;
const CHARS_PER_DOC = 10_500;

let dataDir = '';
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Deterministic filler text, so docs do not all look alike. */
function filler(i: number): string {
  let x = (i + 1) * 2654435761;
  let out = '';
  while (out.length < CHARS_PER_DOC) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += `${(x % 100_000).toString(36)} `;
  }
  return out.slice(0, CHARS_PER_DOC);
}

describe('large state', () => {
  it(`syncs ${DOCS} docs (≥ 20 MB) from the relay app to a fresh replica in batched round trips`, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lattice-large-'));
    const names = Array.from({ length: DOCS }, (_, i) => `w/n${String(i).padStart(4, '0')}`);
    // Seed the relay's LevelDB store directly (a workspace written over months).
    const seed = await LevelStorage.open(dataDir);
    let totalBytes = 0;
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names.slice(i, i + 100).map((name, j) => {
          const doc = new Y.Doc();
          doc.getText('body').insert(0, filler(i + j));
          const update = Y.encodeStateAsUpdate(doc);
          totalBytes += update.length;
          return seed.append(name, [update]);
        }),
      );
    }
    await seed.close();
    expect(totalBytes).toBeGreaterThanOrEqual(20_000_000);

    const relayEvents: string[] = [];
    const relay = await startRelay({
      auth: 'off',
      host: '127.0.0.1',
      port: 0,
      dataDir,
      webDir: join(dataDir, 'no-web'),
      log: (event, fields) => {
        if (event === 'session.close') relayEvents.push(`${event} ${JSON.stringify(fields)}`);
      },
    });
    const tally = new FrameTally();
    const errors: Error[] = [];
    // Default heartbeat settings (1 s probes, 2.5 s timeout): a 20 MB transfer must not trip them.
    const fresh = new Replica({
      storage: new MemoryStorage(),
      relays: [`ws://127.0.0.1:${relay.port}/sync`],
      transportFactory: tally.factory,
      onError: (e) => errors.push(e),
    });
    const progress: { synced: number; total: number }[] = [];
    fresh.onStatus(() => progress.push(fresh.progress));
    try {
      const started = performance.now();
      for (const name of names) fresh.track(name);
      await fresh.whenSynced();
      const seconds = (performance.now() - started) / 1000;

      const down = tally.frames.filter((f) => f.direction === 'down' && f.type === FrameType.Docs);
      const up = tally.frames.filter((f) => f.direction === 'up' && f.type === FrameType.Docs);
      const downBytes = down.reduce((s, f) => s + f.bytes, 0);
      const largest = Math.max(...down.map((f) => f.bytes), ...up.map((f) => f.bytes));
      console.log(
        `large state: ${DOCS} docs, ${(totalBytes / 1e6).toFixed(1)} MB stored on the relay → fresh replica in ` +
          `${seconds.toFixed(2)} s; Docs frames: ${up.length} up, ${down.length} down ` +
          `(${(downBytes / 1e6).toFixed(1)} MB, largest ${(largest / 1e6).toFixed(2)} MB); ` +
          `${tally.transports.length} connection(s)`,
      );
      // Batched, never a frame per doc. A fresh replica stores none of these
      // docs, so none takes a pacing slot (`maxBackgroundInFlight` paces only
      // docs a device already stores): every SyncStep1 leaves at once (a few
      // frames at most), and at most one reply frame per frame received.
      const isStep1 = (message: Uint8Array) => {
        const y = decodeYMessage(message);
        return y.type === YMessageType.Sync && y.step === SyncStep.Step1;
      };
      const step1Frames = up.filter((f) => f.messages.some((m) => isStep1(m.message)));
      expect(step1Frames.length).toBeLessThanOrEqual(3);
      expect(up.length).toBeLessThanOrEqual(2 * down.length + 2);
      expect(down.length).toBeGreaterThanOrEqual(Math.floor(totalBytes / TARGET_BATCH_BYTES));
      expect(down.length).toBeLessThanOrEqual(Math.ceil(totalBytes / TARGET_BATCH_BYTES) * 2 + 4);
      expect(largest).toBeLessThanOrEqual(TARGET_BATCH_BYTES + 2 * CHARS_PER_DOC + 1024);
      // One connection throughout: no heartbeat or handshake timeout cut the transfer.
      expect(tally.transports.length).toBe(1);
      expect(errors.map(String)).toEqual([]);
      expect(relayEvents).toEqual([]);
      // Progress only rises, and reaches the total.
      expect(progress.length).toBeGreaterThan(2);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i]!.total).toBe(DOCS);
        expect(progress[i]!.synced).toBeGreaterThanOrEqual(progress[i - 1]!.synced);
      }
      expect(progress.at(-1)).toEqual({ synced: DOCS, total: DOCS });
      expect(fresh.progress).toEqual({ synced: DOCS, total: DOCS });
      for (const i of [0, 777, DOCS - 1]) {
        const doc = new Y.Doc();
        Y.applyUpdate(doc, await fresh.readStored(names[i]!));
        expect(doc.getText('body').toString()).toBe(filler(i));
      }
    } finally {
      await fresh.destroy();
      await relay.close();
    }
  }, 180_000);
});
