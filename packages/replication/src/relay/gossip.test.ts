import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import { decodeFrame, FrameType } from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import type { PeerProof } from './access.ts';
import { GossipNet } from './testing/GossipNet.ts';
import { RawClient } from './testing/RawClient.ts';

const text = (doc: Y.Doc) => doc.getText('body').toString();

let net: GossipNet;
afterEach(async () => {
  await net?.close();
});

async function until(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function connected(net: GossipNet, name: string, peers: number): boolean {
  const info = net.relays.get(name)!.core.clusterInfo();
  return info.peers.filter((p) => p.state === 'connected').length === peers;
}

describe('gossip: push', () => {
  it('an update from a client on A reaches a client on B at once', async () => {
    net = new GossipNet();
    const a = net.relay('A');
    const b = net.relay('B');
    net.link('A', 'B');
    await until(() => connected(net, 'A', 1) && connected(net, 'B', 1), 3000, 'link');
    const onA = new RawClient(a.core, 'ca');
    const onB = new RawClient(b.core, 'cb');
    onA.subscribe('w/n');
    onB.subscribe('w/n');
    onA.edit('w/n', (d) => d.getText('body').insert(0, 'hello'));
    const doc = await onB.waitFor('w/n', (d) => text(d) === 'hello');
    expect(text(doc)).toBe('hello');
  });

  it('a line A–B–C: an update on A reaches C through B', async () => {
    net = new GossipNet();
    net.relay('A');
    const b = net.relay('B');
    const c = net.relay('C');
    net.link('A', 'B');
    net.link('C', 'B');
    await until(() => connected(net, 'B', 2), 3000, 'links');
    const onA = new RawClient(net.relays.get('A')!.core, 'ca');
    const onC = new RawClient(c.core, 'cc');
    onC.subscribe('w/n');
    onA.edit('w/n', (d) => d.getText('body').insert(0, 'via B'));
    await onC.waitFor('w/n', (d) => text(d) === 'via B');
    // B stored it too (it applied and forwarded what it applied).
    const stored = await b.storage.load('w/n');
    expect(stored.updates.length).toBeGreaterThan(0);
  });
});

describe('gossip: one link per pair', () => {
  it('when both dial, one link survives (the smaller id dialed it) and the other closes with DuplicatePeer', async () => {
    net = new GossipNet();
    const a = net.relay('A');
    const b = net.relay('B');
    net.link('A', 'B');
    net.link('B', 'A');
    await until(() => connected(net, 'A', 1) && connected(net, 'B', 1), 3000, 'link');
    await new Promise((r) => setTimeout(r, 100));
    const infoA = a.core.clusterInfo();
    const infoB = b.core.clusterInfo();
    expect(infoA.peers).toHaveLength(1);
    expect(infoB.peers).toHaveLength(1);
    // 'A' < 'B': A's outbound link wins on both sides.
    expect(infoA.peers[0]).toMatchObject({
      relayId: 'B',
      direction: 'outbound',
      state: 'connected',
    });
    expect(infoB.peers[0]).toMatchObject({
      relayId: 'A',
      direction: 'inbound',
      state: 'connected',
    });
    // Still exactly one link after a while (the loser watches, no churn).
    const bytesBefore = net.bytesBetween('A', 'B');
    const onA = new RawClient(a.core, 'ca');
    const onB = new RawClient(b.core, 'cb');
    onB.subscribe('d');
    onA.edit('d', (d) => d.getText('body').insert(0, 'x'));
    await onB.waitFor('d', (d) => text(d) === 'x');
    expect(net.bytesBetween('A', 'B')).toBeGreaterThan(bytesBefore);
  });

  it('with peer auth, a dialer whose proof check outlasts its DuplicatePeer close still learns whom it dialed', async () => {
    // The check is async (jose in the relay): the winning side may close the
    // losing link before the loser finished checking the winner's Hello.
    const proof = (checkMs: number): PeerProof => ({
      make: () => 'cluster-secret',
      verify: async (p) => {
        await new Promise((r) => setTimeout(r, checkMs));
        return p === 'cluster-secret';
      },
    });
    net = new GossipNet();
    const a = net.relay('A', { peerProof: proof(0) });
    const b = net.relay('B', { peerProof: proof(100) });
    net.link('A', 'B');
    net.link('B', 'A');
    await until(() => connected(net, 'A', 1) && connected(net, 'B', 1), 3000, 'link');
    // B's own dial lost ('A' < 'B'); it must still know it reached A.
    await until(() => b.core.clusterInfo().peers.length === 1, 3000, 'one entry per relay on B');
    expect(b.core.clusterInfo().peers[0]).toMatchObject({
      url: 'mem://A',
      relayId: 'A',
      direction: 'inbound',
      state: 'connected',
    });
    // So when A's link goes away, B's watching dialer takes over at once,
    // not after its 10 s re-check.
    a.core.removePeer('mem://B');
    await until(() => connected(net, 'B', 1) && connected(net, 'A', 1), 3000, 'B re-dials A');
    expect(b.core.clusterInfo().peers[0]).toMatchObject({
      relayId: 'A',
      direction: 'outbound',
      state: 'connected',
    });
  });

  it('with peer auth, a link to the relay itself is refused and names nobody', async () => {
    net = new GossipNet();
    const a = net.relay('A', {
      peerProof: { make: () => 's', verify: async (p) => p === 's' },
    });
    net.link('A', 'A');
    await until(() => net.dials('A', 'A') >= 1, 3000, 'a dial');
    await new Promise((r) => setTimeout(r, 100));
    expect(a.core.clusterInfo().peers).toEqual([
      expect.objectContaining({ url: 'mem://A', relayId: null, state: 'down' }),
    ]);
  });

  it('reconnects after a cut (jittered backoff) and catches up', async () => {
    net = new GossipNet();
    const a = net.relay('A');
    const b = net.relay('B');
    net.link('A', 'B');
    await until(() => connected(net, 'A', 1), 3000, 'link');
    net.cut('A', 'B');
    await until(() => a.core.clusterInfo().peers[0]?.state !== 'connected', 3000, 'down');
    const onA = new RawClient(a.core, 'ca');
    onA.edit('d', (d) => d.getText('body').insert(0, 'while cut'));
    net.heal('A', 'B');
    await until(() => connected(net, 'A', 1) && connected(net, 'B', 1), 5000, 'relink');
    const onB = new RawClient(b.core, 'cb');
    onB.subscribe('d');
    await onB.waitFor('d', (d) => text(d) === 'while cut');
  });
});

describe('gossip: cluster acks', () => {
  it('a client on A learns B durably holds its change only after B committed', async () => {
    net = new GossipNet();
    const a = net.relay('A');
    let release: (() => void) | undefined;
    const slow = new SlowStorage(new MemoryStorage());
    net.relay('B', { storage: slow });
    net.link('A', 'B');
    await until(() => connected(net, 'A', 1), 3000, 'link');
    const onA = new RawClient(a.core, 'ca');
    onA.subscribe('d');
    slow.hold = new Promise<void>((r) => {
      release = r;
    });
    onA.edit('d', (d) => d.getText('body').insert(0, 'acked?'));
    const clientSv = Y.encodeStateVector(onA.doc('d'));
    // A acks (its own commit), B has it in memory but not on disk: no ClusterAck yet.
    await onA.conn.waitFor(() =>
      onA.conn.frames().some((f) => f.type === FrameType.Ack && f.seq === 2) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 100));
    const clusterAcks = () =>
      onA.conn.sent
        .map((f) => decodeFrame(f))
        .filter((f) => f.type === FrameType.ClusterAck && f.relayId === 'B');
    const covering = () =>
      clusterAcks().some(
        (f) =>
          f.type === FrameType.ClusterAck &&
          covers(Y.decodeStateVector(f.stateVector), Y.decodeStateVector(clientSv)),
      );
    expect(covering()).toBe(false);
    expect(slow.appendsDone).toBe(0);
    release?.();
    await until(covering, 3000, 'cluster ack');
    expect(slow.appendsDone).toBeGreaterThan(0);
  });
});

function covers(have: Map<number, number>, want: Map<number, number>): boolean {
  for (const [client, clock] of want) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

/** Storage whose appends wait for `hold` (to observe "not yet durable"). */
class SlowStorage implements StorageAdapter {
  hold: Promise<void> = Promise.resolve();
  appendsDone = 0;
  readonly #inner: StorageAdapter;
  constructor(inner: StorageAdapter) {
    this.#inner = inner;
  }
  load(docName: string) {
    return this.#inner.load(docName);
  }
  async append(docName: string, updates: readonly Uint8Array[]) {
    await this.hold;
    await this.#inner.append(docName, updates);
    this.appendsDone++;
  }
  compact(docName: string, snapshot: Uint8Array, cursor: number) {
    return this.#inner.compact(docName, snapshot, cursor);
  }
  list(prefix: string) {
    return this.#inner.list(prefix);
  }
  delete(docName: string) {
    return this.#inner.delete(docName);
  }
  getMeta(key: string) {
    return this.#inner.getMeta(key);
  }
  setMeta(key: string, value: Uint8Array | undefined) {
    return this.#inner.setMeta(key, value);
  }
  close() {
    return this.#inner.close();
  }
}
