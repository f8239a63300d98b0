import type { StorageAdapter } from '@lattice/replication';
import { RelayNode, type ReplicaNode, withoutPushes } from '@lattice/replication/testing';
import { describe, expect, it } from 'vitest';
import { describeFailure, runSeed, runSeeds } from './runSeed.ts';

describe('seeded simulation, 3 replicas and 2 relays', () => {
  // Independent relays (no peering): the settle phase has replicas carry state between relays.
  it(
    'seeds 100001–100100 converge through replicas visiting both relays',
    () => runSeeds(100_001, 100, { replicas: 3, relays: 2, topology: 'none' }),
    300_000,
  );
});

describe('seeded simulation, the harness itself', () => {
  it('the same seed gives the same run, another seed another one', async () => {
    const a = await runSeed(7);
    const b = await runSeed(7);
    const c = await runSeed(8);
    expect(a.trace.length).toBeGreaterThan(40);
    expect(b.trace).toEqual(a.trace);
    expect(b.summary).toBe(a.summary);
    expect(c.trace).not.toEqual(a.trace);
  });

  it('catches a relay whose disk acknowledges writes it never made', async () => {
    // Every third append on a relay "succeeds" without reaching the disk (a lying fsync).
    const lying = (storage: StorageAdapter, node: ReplicaNode | RelayNode): StorageAdapter => {
      if (!(node instanceof RelayNode)) return storage;
      let appends = 0;
      return {
        load: (docName) => storage.load(docName),
        append: async (docName, updates) => {
          if (++appends % 3 !== 0) await storage.append(docName, updates);
        },
        compact: (docName, snapshot, cursor) => storage.compact(docName, snapshot, cursor),
        list: (prefix) => storage.list(prefix),
        delete: (docName) => storage.delete(docName),
        getMeta: (key) => storage.getMeta(key),
        setMeta: (key, value) => storage.setMeta(key, value),
        close: () => storage.close(),
      };
    };
    const reports = [];
    for (let seed = 1; seed <= 10; seed++)
      reports.push(await runSeed(seed, { wrapStorage: lying }));
    const failed = reports.filter((r) => !r.ok);
    expect(failed.length, reports.map((r) => r.summary).join('\n')).toBeGreaterThanOrEqual(8);
    const problems = failed.flatMap((r) => r.problems).join('\n');
    expect(problems).toMatch(/acked/);
    expect(failed[0]!.summary).toMatch(/^seed=\d+ /);
  });
});

/**
 * Line R0–R1–R2 without periodic anti-entropy: only pushes (and the rounds on
 * reconnect) carry updates between relays.
 */
const line = {
  replicas: 3,
  relays: 3,
  topology: 'line',
  lateJoin: 0,
  timing: { antiEntropyIntervalsMs: [0], settleLimitMs: 30_000 },
} as const;

describe('seeded simulation, gossip self-tests', () => {
  // On the `line`, replicas that happen to reconnect elsewhere carry state
  // too, slowly: settling must finish within 30 s.
  it('catches relays that never push updates to their peers', async () => {
    const broken = [];
    const sound = [];
    // 30 seeds: since relays append live edits (and backspaces) to a log, the
    // rounds on reconnect repair more runs without pushes (3 of seeds 1–10,
    // 10 of 1–30; 5 of 1–10 before).
    for (let seed = 1; seed <= 30; seed++) {
      broken.push(
        await runSeed(seed, { ...line, peerFrames: (_relay, frame) => withoutPushes(frame) }),
      );
      sound.push(await runSeed(seed, line));
    }
    // The same seeds pass with pushes: what fails is the missing gossip.
    const unsound = sound.filter((r) => !r.ok);
    expect(unsound.map((r) => describeFailure(r))).toEqual([]);
    const failed = broken.filter((r) => !r.ok);
    expect(failed.length, broken.map((r) => r.summary).join('\n')).toBeGreaterThanOrEqual(5);
    expect(failed.flatMap((r) => r.problems).join('\n')).toMatch(/digests differ|differs from/);
  }, 240_000);
});

describe('seeded simulation, pinned seeds', () => {
  // Found when acks began to travel in `Acks` frames (another schedule): R2
  // acked two inserts, crashed before writing the fingerprint record of that
  // commit, and after restart advertised the record's older state, so the
  // rounds on reconnect never asked it for them. A relay now trusts its
  // records only after a clean shutdown.
  it('seed 23 (line): a relay that crashed before its fingerprint record was written still hands on what it acked', async () => {
    const report = await runSeed(23, line);
    expect(report.ok, describeFailure(report)).toBe(true);
  });

  // Each failed once; the bug is fixed and the seed stays as a regression test.
  // Found as seed 296; as the code around it changed, seeds 371 and 942 are
  // the ones that fail without the fix (Replica.#applyRemote waiting for the load).
  for (const seed of [371, 942]) {
    it(`seed ${seed}: structs released by a doc still loading from storage were never stored`, async () => {
      const report = await runSeed(seed);
      expect(report.ok, describeFailure(report)).toBe(true);
    });
  }
});
