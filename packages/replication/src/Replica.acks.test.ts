import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocHandle } from './ports.ts';
import { decodeFrame, encodeAck, FrameType } from './protocol.ts';
import { Replica } from './Replica.ts';
import { MemoryStorage } from './storage/MemoryStorage.ts';
import { faultySchedule } from './testing/faultySchedule.ts';
import { ReplicaWorld, WORLD_RELAY_URL } from './testing/ReplicaWorld.ts';
import type { DeliverySchedule } from './transport/MemoryTransport.ts';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

function world(options: ConstructorParameters<typeof ReplicaWorld>[0] = {}): ReplicaWorld {
  const w = new ReplicaWorld(options);
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (handle: DocHandle) => handle.doc.getText('body').toString();

/**
 * Mirrors what the relay's storage durably holds, synchronously readable: a
 * doc per name, fed only after `append` resolved.
 */
function recordDurable(storage: MemoryStorage): Map<string, Y.Doc> {
  const durable = new Map<string, Y.Doc>();
  const append = storage.append.bind(storage);
  storage.append = async (name, updates) => {
    await append(name, updates);
    let doc = durable.get(name);
    if (!doc) {
      doc = new Y.Doc();
      durable.set(name, doc);
    }
    for (const u of updates) Y.applyUpdate(doc, u);
  };
  return durable;
}

function clockOf(doc: Y.Doc | undefined, clientId: number): number {
  if (!doc) return 0;
  return Y.decodeStateVector(Y.encodeStateVector(doc)).get(clientId) ?? 0;
}

describe('Replica acks', () => {
  it(`stay correct when frames are reordered, duplicated and links drop (seed ${SEED})`, async () => {
    const gen = prng.create(SEED);
    const random = () => prng.real53(gen);
    const w = world({
      schedule: faultySchedule({
        random,
        // Longer than the relay's commit window, so a message can still be missing when a later one is stored.
        maxDelayMs: 12,
        duplicate: 0.25,
        sever: 0.004,
        silence: 0.002,
      }),
    });
    const durable = recordDurable(w.relayStorage);
    const docs = ['w/a', 'w/b'];
    const replicas = [0, 1, 2].map(() => w.replica({ random }));
    const handles = await Promise.all(replicas.map((r) => Promise.all(docs.map((d) => r.open(d)))));
    let checks = 0;
    const violations: string[] = [];
    replicas.forEach((replica, r) => {
      replica.onDocStatus((name, status) => {
        if (status.pendingLocal) return;
        const handle = handles[r]?.[docs.indexOf(name)];
        if (!handle) return;
        // Saved on the relay: every local edit made so far must be in its durable storage.
        checks++;
        const own = clockOf(handle.doc, handle.doc.clientID);
        const stored = clockOf(durable.get(name), handle.doc.clientID);
        if (stored < own) {
          violations.push(`replica ${r} ${name}: acked at clock ${own}, relay stored ${stored}`);
        }
      });
    });
    try {
      for (let step = 0; step < 120; step++) {
        const r = prng.uint32(gen, 0, 2);
        const text = handles[r]![prng.uint32(gen, 0, 1)]!.doc.getText('body');
        if (prng.real53(gen) < 0.25 && text.length > 0) {
          text.delete(prng.uint32(gen, 0, text.length - 1), 1);
        } else {
          text.insert(prng.uint32(gen, 0, text.length), prng.word(gen, 1, 3));
        }
        if (prng.bool(gen)) await sleep(prng.uint32(gen, 0, 6));
      }
      await Promise.all(replicas.map((r) => r.whenAcked()));
      await Promise.all(replicas.map((r) => r.whenSynced()));
      for (let d = 0; d < docs.length; d++) {
        await eventually(
          () => new Set(handles.map((hs) => body(hs[d]!))).size === 1,
          `doc ${docs[d]} converged`,
        );
        expect(durable.get(docs[d]!)?.getText('body').toString()).toBe(body(handles[0]![d]!));
      }
      expect(violations, violations.join('; ')).toEqual([]);
      expect(checks).toBeGreaterThan(10);
    } catch (err) {
      throw new Error(`failed with seed ${SEED} (rerun with TEST_SEED=${SEED}): ${err}`);
    }
  });

  // Pinned from the randomized test above (seed 1): the ack of a live update
  // sent right after a reconnect cleared pendingLocal while edits made offline
  // still waited for the relay's SyncStep1 to be answered.
  it('regression: an ack of a live update never covers older edits not yet sent', async () => {
    let holdDocs = false;
    const held: (() => void)[] = [];
    const acks: number[] = [];
    const schedule: DeliverySchedule = (deliver, frame, direction) => {
      const decoded = decodeFrame(frame);
      if (holdDocs && direction === 'down' && decoded.type === FrameType.Docs) {
        held.push(deliver);
        return;
      }
      setTimeout(() => {
        if (direction === 'down' && decoded.type === FrameType.Ack) acks.push(decoded.seq);
        if (direction === 'down' && decoded.type === FrameType.Acks) {
          for (const ack of decoded.acks) acks.push(ack.seq);
        }
        deliver();
      }, 0);
    };
    const w = world({ schedule });
    const durable = recordDurable(w.relayStorage);
    const a = w.replica();
    const h = await a.open('w/reg');
    await a.whenSynced();
    w.network.setOnline(false);
    await eventually(() => a.status.state !== 'synced', 'offline noticed');
    h.doc.getText('body').insert(0, 'offline ');
    holdDocs = true; // the relay's SyncStep1 will not reach the replica yet
    acks.length = 0;
    w.network.setOnline(true);
    a.reconnect();
    await eventually(() => a.status.state === 'syncing' && held.length > 0, 'reconnected');
    // Sent on the new connection: Step1 (1), then this live update (2).
    h.doc.getText('body').insert(8, 'live');
    await eventually(() => acks.includes(2), 'the live update acked');
    await sleep(5);
    // The relay stored the live update, but the offline edit it builds on was never sent.
    expect(durable.get('w/reg')?.getText('body').toString()).toBe('');
    expect(a.status.pendingLocal).toBe(true);
    holdDocs = false;
    for (const deliver of held.splice(0)) deliver();
    await a.whenAcked();
    expect(durable.get('w/reg')?.getText('body').toString()).toBe('offline live');
  });

  it('ignores acks for numbers never sent and applies acks monotonically', async () => {
    // The test plays the relay's part for acks: real ones are held back, forged ones injected.
    let inject: ((frame: Uint8Array) => void) | null = null;
    let hold = false;
    const held: (() => void)[] = [];
    const schedule: DeliverySchedule = (deliver, frame, direction) => {
      const type = decodeFrame(frame).type;
      if (hold && direction === 'down' && (type === FrameType.Ack || type === FrameType.Acks)) {
        held.push(deliver);
      } else {
        setTimeout(deliver, 0);
      }
    };
    const w = world({ schedule });
    const storage = new MemoryStorage();
    const a = w.replica({ storage });
    const h = await a.open('w/forged');
    await a.whenSynced();
    hold = true;
    const transport = w.network.openTransports()[0]!;
    inject = (frame) => transport.onMessage?.(frame);
    h.doc.getText('body').insert(0, 'x');
    await eventually(() => held.length >= 1, 'relay acked the update');
    // Messages on this connection so far: Step1 (1), Step2 (2), Update (3).
    inject(encodeAck('w/forged', 99, Y.encodeStateVector(h.doc)));
    inject(encodeAck('w/other', 1, new Uint8Array([0])));
    await sleep(5);
    expect(a.status.pendingLocal).toBe(true);
    expect(a.docReplicationInfo('w/forged').acked[0]!.stateVector).toEqual([]);
    // The real ack, twice, then an older one: pending clears and nothing goes back.
    for (const deliver of held.splice(0)) deliver();
    await a.whenAcked();
    const acked = a.docReplicationInfo('w/forged').acked[0]!.stateVector;
    expect(acked).toEqual([{ clientId: h.doc.clientID, clock: 1 }]);
    inject(encodeAck('w/forged', 1, new Uint8Array([0])));
    await sleep(5);
    expect(a.docReplicationInfo('w/forged').acked[0]!.stateVector).toEqual(acked);
    expect(a.status.pendingLocal).toBe(false);
    await eventually(
      async () => (await storage.getMeta('dirty:w/forged')) === undefined,
      'durable marker cleared',
    );
  });
});

describe('Replica replication info', () => {
  it('reports relays, pending docs, acked vectors and saved-on-device', async () => {
    let clock = 1_000_000;
    const w = world();
    const a = w.replica({
      relays: [WORLD_RELAY_URL, 'memory://standby/sync'],
      now: () => clock,
    });
    expect(a.replicationInfo()).toEqual({
      relays: [
        {
          url: WORLD_RELAY_URL,
          protocol: 'lattice',
          relayId: null,
          state: 'connecting',
          lastAckAt: null,
          heartbeatRttMs: null,
        },
        {
          url: 'memory://standby/sync',
          protocol: 'lattice',
          relayId: null,
          state: 'standby',
          lastAckAt: null,
          heartbeatRttMs: null,
        },
      ],
      savedOnDevice: true,
      pendingDocs: 0,
      lastSyncAt: null,
      sessionWarnings: [],
      cluster: { relaysHoldingAll: 0, relaysKnown: 2 },
    });
    const h = await a.open('w/info');
    await a.whenSynced();
    const synced = a.replicationInfo();
    expect(synced.relays[0]).toMatchObject({ state: 'connected', relayId: w.relay.relayId });
    expect(synced.lastSyncAt).toBe(clock);

    clock += 500;
    h.doc.getText('body').insert(0, 'hello');
    expect(a.replicationInfo()).toMatchObject({ savedOnDevice: false, pendingDocs: 1 });
    expect(a.docReplicationInfo('w/info')).toMatchObject({
      pendingLocal: true,
      local: [{ clientId: h.doc.clientID, clock: 5 }],
    });
    await a.whenAcked();
    const info = a.replicationInfo();
    expect(info).toMatchObject({ savedOnDevice: true, pendingDocs: 0, lastSyncAt: clock });
    expect(info.relays[0]!.lastAckAt).toBe(clock);
    expect(a.docReplicationInfo('w/info')).toEqual({
      docName: 'w/info',
      pendingLocal: false,
      local: [{ clientId: h.doc.clientID, clock: 5 }],
      acked: [
        {
          relayId: w.relay.relayId,
          relayUrl: WORLD_RELAY_URL,
          stateVector: [{ clientId: h.doc.clientID, clock: 5 }],
        },
        { relayId: '', relayUrl: 'memory://standby/sync', stateVector: [] },
      ],
    });
    // The standby relay never acked anything: the change is on 1 of the 2.
    expect(info.cluster).toEqual({ relaysHoldingAll: 1, relaysKnown: 2 });
    await eventually(() => a.replicationInfo().relays[0]!.heartbeatRttMs !== null, 'a round trip');
    expect(a.replicationInfo().relays[0]!.heartbeatRttMs).toBeGreaterThanOrEqual(0);

    w.network.setOnline(false);
    await eventually(
      () => a.replicationInfo().relays.some((r) => r.state === 'offline'),
      'offline',
    );
    await a.destroy();
    await expect(a.whenAcked()).rejects.toThrow(/destroyed/);
  });

  it('rejects bad relay lists and options clearly', () => {
    const storage = new MemoryStorage();
    expect(() => new Replica({ storage, relays: 'ws://x' as never })).toThrow(/array/);
    expect(
      () =>
        new Replica({ storage, relays: [{ url: 'ws://x', protocol: 'carrier-pigeon' } as never] }),
    ).toThrow(/relays\[0\]/);
    expect(
      () =>
        new Replica({
          storage,
          relays: ['ws://a/sync', { url: 'ws://b', protocol: 'y-websocket' }],
        }),
    ).toThrow(/one protocol/);
    expect(() => new Replica({ storage, relays: [], now: 5 as never })).toThrow(/now/);
  });

  it('whenAcked waits for changes found in storage from an earlier session', async () => {
    const w = world();
    w.network.setOnline(false);
    const storage = new MemoryStorage();
    const first = w.replica({ storage });
    const h = await first.open('w/earlier');
    h.doc.getText('body').insert(0, 'offline');
    await eventually(
      async () => (await storage.getMeta('dirty:w/earlier')) !== undefined,
      'marker',
    );
    await first.destroy();

    const second = w.replica({ storage });
    let acked = false;
    const done = second.whenAcked().then(() => {
      acked = true;
    });
    await sleep(30);
    expect(acked).toBe(false);
    w.network.setOnline(true);
    second.reconnect();
    await done;
    expect(second.status.pendingLocal).toBe(false);
  });
});
