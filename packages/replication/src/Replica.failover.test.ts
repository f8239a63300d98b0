import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocHandle, RelayConnection, TransportFactory } from './ports.ts';
import { decodeFrame, encodeClusterAck, FrameType } from './protocol.ts';
import { Replica, type ReplicaOptions } from './Replica.ts';
import { RelayCore } from './relay/RelayCore.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { MemoryNetwork } from './testing/MemoryNetwork.ts';
import type { Acceptor } from './transport/MemoryTransport.ts';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

const R1 = 'memory://r1/sync';
const R2 = 'memory://r2/sync';

/**
 * Two independent relays, each on its own network so one can die (visibly or
 * half-open) while the other lives. Without relay↔relay gossip, the second
 * relay can only learn a replica's changes from the replica's own handshake
 * after failover — which is exactly what these tests check.
 */
class TwoRelays {
  readonly storage1 = new MemoryStorage();
  readonly storage2 = new MemoryStorage();
  readonly relay1 = new RelayCore({ storage: this.storage1, relayId: 'relay-1' });
  readonly relay2 = new RelayCore({ storage: this.storage2, relayId: 'relay-2' });
  readonly net1: MemoryNetwork;
  readonly net2: MemoryNetwork;
  readonly replicas: Replica[] = [];
  readonly errors: Error[] = [];
  /** When each connection attempt to each URL started (ms, `performance.now`). */
  readonly attempts: { url: string; at: number }[] = [];
  readonly factory: TransportFactory;

  constructor(wrap1?: (acceptor: Acceptor) => Acceptor) {
    const accept1: Acceptor = (conn) => this.relay1.acceptMultiplexed(conn);
    this.net1 = new MemoryNetwork({ [R1]: wrap1 ? wrap1(accept1) : accept1 });
    this.net2 = new MemoryNetwork({ [R2]: (conn) => this.relay2.acceptMultiplexed(conn) });
    this.factory = (url) => {
      this.attempts.push({ url, at: performance.now() });
      return url === R1 ? this.net1.factory(url) : this.net2.factory(url);
    };
  }

  replica(options: Partial<ReplicaOptions> = {}): Replica {
    const replica = new Replica({
      storage: new MemoryStorage(),
      relays: [R1, R2],
      transportFactory: this.factory,
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 300,
      backoff: { baseMs: 5, maxMs: 50 },
      onError: (error) => this.errors.push(error),
      ...options,
    });
    this.replicas.push(replica);
    return replica;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.destroy()));
    await Promise.all([this.relay1.close(), this.relay2.close()]);
  }
}

const worlds: TwoRelays[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

function twoRelays(wrap1?: (acceptor: Acceptor) => Acceptor): TwoRelays {
  const w = new TwoRelays(wrap1);
  worlds.push(w);
  return w;
}

async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const body = (handle: DocHandle) => handle.doc.getText('body').toString();

/** The text of `docName` as a relay's storage durably holds it. */
async function storedText(storage: MemoryStorage, docName: string): Promise<string> {
  const { updates } = await storage.load(docName);
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc.getText('body').toString();
}

/**
 * Wraps relay 1's acceptor so that, after each `Ack` it sends, the client also
 * hears a `ClusterAck` from an imaginary peer `peer-x` holding `vectorFor()`
 * of the doc (or the relay's own acked vector when that returns null); `acks`
 * false swallows relay 1's own acks.
 */
function withClusterAcks(
  vectorFor: (docName: string, acked: Uint8Array) => Uint8Array | null,
  acks = true,
): (accept: Acceptor) => Acceptor {
  return (accept) => (conn) => {
    const spy: RelayConnection = {
      send: (frame) => {
        const f = decodeFrame(frame);
        if (f.type === FrameType.Ack || f.type === FrameType.Acks) {
          if (acks) conn.send(frame);
          for (const ack of f.type === FrameType.Ack ? [f] : f.acks) {
            const vector = vectorFor(ack.docName, ack.stateVector) ?? ack.stateVector;
            conn.send(encodeClusterAck(ack.docName, 'peer-x', vector));
          }
          return;
        }
        conn.send(frame);
      },
      close: (code, reason) => conn.close(code, reason),
      get bufferedAmount() {
        return conn.bufferedAmount;
      },
    };
    return accept(spy);
  };
}

describe('Replica cluster acks ("on N of M relays")', () => {
  it('counts a peer relay once a ClusterAck covers every local change', async () => {
    let peerHolds = false;
    const w = twoRelays(withClusterAcks(() => (peerHolds ? null : new Uint8Array([0]))));
    const a = w.replica({ relays: [R1] });
    const h = await a.open('w/c1');
    await a.whenSynced();
    h.doc.getText('body').insert(0, 'hello');
    await a.whenAcked();
    // relay-1 acked; peer-x announced an empty vector: it holds nothing of ours.
    expect(a.replicationInfo().cluster).toEqual({ relaysHoldingAll: 1, relaysKnown: 2 });
    const acked = a.docReplicationInfo('w/c1').acked;
    expect(acked.map((e) => [e.relayId, e.relayUrl])).toEqual([
      ['relay-1', R1],
      ['peer-x', ''],
    ]);
    expect(acked[1]!.stateVector).toEqual([]);

    peerHolds = true;
    h.doc.getText('body').insert(5, ' world');
    await a.whenAcked();
    await eventually(
      () => a.replicationInfo().cluster.relaysHoldingAll === 2,
      'peer-x holds everything',
    );
    expect(a.docReplicationInfo('w/c1').acked[1]!.stateVector).toEqual([
      { clientId: h.doc.clientID, clock: 11 },
    ]);
    // A new local change is on no relay until acked again.
    peerHolds = false;
    h.doc.getText('body').insert(0, '>');
    expect(a.replicationInfo().cluster.relaysHoldingAll).toBe(0);
    await a.whenAcked();
    expect(a.replicationInfo().cluster).toEqual({ relaysHoldingAll: 1, relaysKnown: 2 });
  });

  it('never clears pending changes on a ClusterAck alone', async () => {
    const w = twoRelays(withClusterAcks(() => null, false));
    const a = w.replica({ relays: [R1] });
    const h = await a.open('w/c2');
    h.doc.getText('body').insert(0, 'not acked by my relay');
    await eventually(
      () => a.docReplicationInfo('w/c2').acked.some((e) => e.relayId === 'peer-x'),
      'a cluster ack arrives',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(a.status.pendingLocal).toBe(true);
    expect(a.replicationInfo().cluster.relaysHoldingAll).toBe(0);
  });

  it('ignores remote changes: only what this replica wrote or announced must be covered', async () => {
    const w = twoRelays();
    const a = w.replica();
    const b = w.replica();
    const [ha, hb] = await Promise.all([a.open('w/c3'), b.open('w/c3')]);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    ha.doc.getText('body').insert(0, 'mine');
    await a.whenAcked();
    expect(a.replicationInfo().cluster.relaysHoldingAll).toBe(1);
    // b's write reaches a, raising a's state vector past what relay-1 acked to a.
    hb.doc.getText('body').insert(0, 'theirs ');
    await eventually(() => body(ha) === 'theirs mine', 'b reaches a');
    expect(a.replicationInfo().cluster).toEqual({ relaysHoldingAll: 1, relaysKnown: 2 });
  });
});

describe('Replica.setRelays', () => {
  it('keeps the current link when its URL stays, moves when it is removed', async () => {
    const w = twoRelays();
    const a = w.replica();
    const h = await a.open('w/s1');
    await a.whenSynced();
    const before = w.attempts.length;
    a.setRelays([R2, R1]);
    expect(a.replicationInfo().relays.map((r) => [r.url, r.state])).toEqual([
      [R2, 'standby'],
      [R1, 'connected'],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(w.attempts.length).toBe(before);

    h.doc.getText('body').insert(0, 'moved');
    a.setRelays([R2]);
    await a.whenSynced();
    await a.whenAcked();
    expect(a.replicationInfo().relays).toMatchObject([{ url: R2, state: 'connected' }]);
    expect(await storedText(w.storage2, 'w/s1')).toBe('moved');
    // relay-1 stays known (heard of), though no longer listed.
    expect(a.replicationInfo().cluster.relaysKnown).toBe(2);
  });

  it('starts syncing a local-only replica and refuses bad lists', async () => {
    const w = twoRelays();
    const a = w.replica({ relays: [] });
    const h = await a.open('w/s2');
    h.doc.getText('body').insert(0, 'offline first');
    expect(() => a.setRelays([])).toThrow(/at least one relay/);
    expect(() => a.setRelays([R1, R1])).toThrow(/twice/);
    expect(() => a.setRelays('ws://x' as never)).toThrow(/array/);
    a.setRelays([R1]);
    await a.whenAcked();
    expect(await storedText(w.storage1, 'w/s2')).toBe('offline first');
    expect(() => a.setRelays([{ url: 'ws://y', protocol: 'y-websocket' }])).toThrow(/protocol/);
  });
});

describe('Replica failover between relays', () => {
  it('moves to the next relay when its relay dies, losing and duplicating nothing', async () => {
    const w = twoRelays();
    const a = w.replica();
    const b = w.replica({ relays: [R2, R1] });
    const docs = ['w/f1', 'w/f2'];
    const handles = await Promise.all(docs.map((d) => a.open(d)));
    const other = await Promise.all(docs.map((d) => b.open(d)));
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    handles[0]!.doc.getText('body').insert(0, 'acked on relay 1;');
    await a.whenAcked();
    // Relay 1 dies (its connections drop, new ones are refused) with changes in flight.
    w.net1.setOnline(false);
    await eventually(() => a.status.state !== 'synced', 'relay 1 lost');
    handles[0]!.doc.getText('body').insert(17, ' written during failover;');
    handles[1]!.doc.getText('body').insert(0, 'second doc');
    await a.whenSynced();
    await a.whenAcked();
    expect(a.replicationInfo().relays.map((r) => r.state)).toEqual(['standby', 'connected']);
    const expected = ['acked on relay 1; written during failover;', 'second doc'];
    for (const [i, doc] of docs.entries()) {
      expect(await storedText(w.storage2, doc)).toBe(expected[i]);
      await eventually(() => body(other[i]!) === expected[i], `b sees ${doc}`);
    }
    expect(handles.map(body)).toEqual(expected);
    const info = a.docReplicationInfo('w/f1');
    expect(info.acked.map((e) => e.relayId)).toEqual(['relay-1', 'relay-2']);
  });

  it('detects a half-open relay within the heartbeat timeout and fails over', async () => {
    const w = twoRelays();
    const a = w.replica();
    const h = await a.open('w/f3');
    await a.whenSynced();
    const silencedAt = performance.now();
    w.net1.silenceAll();
    // Relay 1's machine is gone: its connects hang too.
    w.net1.setOnline(false);
    await eventually(
      () => a.replicationInfo().relays[1]!.state === 'connected',
      'failed over to relay 2',
    );
    const failoverMs = performance.now() - silencedAt;
    // Detected within heartbeatTimeoutMs (300) and reconnected after ≤ one backoff cap (50).
    expect(failoverMs).toBeLessThan(300 + 50 + 150);
    h.doc.getText('body').insert(0, 'after');
    await a.whenAcked();
    expect(await storedText(w.storage2, 'w/f3')).toBe('after');
  });

  it(`spreads the reconnects of many replicas over the backoff window (seed ${SEED})`, async () => {
    const gen = prng.create(SEED);
    const random = () => prng.real53(gen);
    const w = twoRelays();
    const n = 40;
    const baseMs = 250;
    const replicas = Array.from({ length: n }, () =>
      w.replica({ random, backoff: { baseMs, maxMs: 10_000 } }),
    );
    await Promise.all(replicas.map((r) => r.open('w/storm')));
    await Promise.all(replicas.map((r) => r.whenSynced()));
    const diedAt = performance.now();
    w.net1.setOnline(false);
    await eventually(
      () => replicas.every((r) => r.replicationInfo().relays[1]!.state === 'connected'),
      'every replica on relay 2',
    );
    await Promise.all(replicas.map((r) => r.whenSynced()));
    const times = w.attempts
      .filter((x) => x.url === R2)
      .map((x) => x.at - diedAt)
      .sort((x, y) => x - y);
    expect(times).toHaveLength(n);
    // Full jitter: uniform over [0, baseMs). Bucket into 10 windows of 25 ms.
    const buckets = new Array<number>(10).fill(0);
    for (const t of times) buckets[Math.min(9, Math.floor(t / (baseMs / 10)))]!++;
    const spread = times.at(-1)! - times[0]!;
    console.log(
      `seed=${SEED} ${n} replicas fail over: reconnects from ${Math.round(times[0]!)} to ${Math.round(times.at(-1)!)} ms after the relay died; per 25 ms: ${buckets.join(' ')}`,
    );
    expect(spread, `seed=${SEED}`).toBeGreaterThan(baseMs / 2);
    // Never more than a third of the clients in one 25 ms window (a stampede puts them all in one).
    expect(Math.max(...buckets), `seed=${SEED}`).toBeLessThanOrEqual(Math.ceil(n / 3));
    // Capped: the first retry after losing a working link waits at most baseMs (+ timer slack).
    expect(times.at(-1)!, `seed=${SEED}`).toBeLessThan(baseMs + 150);
  }, 20_000);
});

describe('Replica with peered relays (RelayCore.addPeer)', () => {
  it('reports "on 2 of 2 relays" from the peer’s ClusterAck, and fails over without loss', async () => {
    const w = twoRelays();
    // Relay 1 dials relay 2 over relay 2's network (the link survives relay 1's client network going down).
    w.relay1.addPeer(R2, w.net2.factory);
    const a = w.replica();
    const h = await a.open('w/p1');
    await a.whenSynced();
    h.doc.getText('body').insert(0, 'gossiped');
    await a.whenAcked();
    await eventually(
      () => a.replicationInfo().cluster.relaysHoldingAll === 2,
      'relay-2 confirmed through relay-1',
    );
    expect(a.replicationInfo().cluster).toEqual({ relaysHoldingAll: 2, relaysKnown: 2 });
    // Relay 2's id comes from a ClusterAck only, so it is not tied to the configured R2 yet.
    expect(a.docReplicationInfo('w/p1').acked.map((e) => [e.relayId, e.relayUrl])).toEqual([
      ['relay-1', R1],
      ['', R2],
      ['relay-2', ''],
    ]);
    // Relay 1's clients lose it: the replica moves to relay 2, which already holds everything.
    w.net1.setOnline(false);
    await eventually(
      () => a.replicationInfo().relays[1]!.state === 'connected',
      'failed over to relay 2',
    );
    h.doc.getText('body').insert(8, '!');
    await a.whenAcked();
    expect(await storedText(w.storage2, 'w/p1')).toBe('gossiped!');
    // Now on relay 2 (its id tied to R2): relay 1, still peered, confirms the new edit through it.
    await eventually(
      () => a.replicationInfo().cluster.relaysHoldingAll === 2,
      'relay-1 confirmed through relay-2',
    );
    expect(a.replicationInfo().cluster.relaysKnown).toBe(2);
  });
});
