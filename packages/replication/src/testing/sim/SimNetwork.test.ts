import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../ports.ts';
import { type LinkFaults, SimNetwork } from './SimNetwork.ts';
import { VirtualTime } from './VirtualTime.ts';

const CLEAN: LinkFaults = { latencyMs: [1, 40], reorder: 0, duplicate: 0, drop: 0 };

/** A network with one relay `R0` that echoes every frame back. */
function echoNetwork(faults: Partial<LinkFaults>, seed = 1): SimNetwork {
  const net = new SimNetwork({
    random: prng.create(seed),
    now: () => Date.now(),
    faults: { ...CLEAN, ...faults },
  });
  net.addEndpoint('R0', 'memory://r0', () => (conn) => ({
    receive: (frame) => conn.send(frame),
    closed: () => {},
  }));
  return net;
}

/** Connects `r0` and records what comes back (byte 1 of each frame) and whether it closed. */
async function connect(net: SimNetwork, time: VirtualTime) {
  const transport: Transport = net.factoryFor('r0')('memory://r0');
  const got: number[] = [];
  const state = { closed: false };
  transport.onMessage = (frame) => got.push(frame[1]!);
  transport.onClose = () => {
    state.closed = true;
  };
  transport.connect();
  await time.advance(5);
  return { transport, got, state };
}

/** Frames whose first byte is 1 (`Docs`): counted as sync traffic. */
const frame = (i: number) => new Uint8Array([1, i]);

describe('SimNetwork', () => {
  let time: VirtualTime | null = null;
  afterEach(() => {
    time?.uninstall();
    time = null;
  });

  it('delays frames but keeps their order without reordering, and counts them in flight', async () => {
    time = new VirtualTime().install();
    const net = echoNetwork({});
    const { transport, got } = await connect(net, time);
    for (let i = 0; i < 50; i++) transport.send(frame(i));
    expect(net.inFlight).toBe(50);
    await time.advance(200);
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(net.inFlight).toBe(0);
  });

  it('reorders and duplicates frames when told to', async () => {
    time = new VirtualTime().install();
    const net = echoNetwork({ reorder: 1, duplicate: 1 });
    const { transport, got } = await connect(net, time);
    for (let i = 0; i < 50; i++) transport.send(frame(i));
    await time.advance(500);
    // Duplicated on the way there and on the way back.
    expect(got.length).toBe(200);
    expect([...new Set(got)].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(got).not.toEqual([...got].sort((a, b) => a - b));
    expect(net.stats.reordered).toBeGreaterThan(0);
  });

  it('ends the connection with a dropped frame', async () => {
    time = new VirtualTime().install();
    const net = echoNetwork({ drop: 1 });
    const { transport, got } = await connect(net, time);
    transport.send(frame(1));
    transport.send(frame(2));
    await time.advance(100);
    expect(got).toEqual([]);
    expect(net.stats.dropped).toBeGreaterThanOrEqual(1);
    expect(net.openLinks()).toEqual([]);
  });

  it('cuts a pair visibly (close, refused) or silently (no close, blackholed) until unblocked', async () => {
    time = new VirtualTime().install();
    const net = echoNetwork({});
    const visible = await connect(net, time);
    net.block('r0', 'R0', 'visible');
    await time.advance(5);
    expect(visible.state.closed).toBe(true);
    const refused = await connect(net, time);
    expect(refused.state.closed).toBe(true);

    net.unblock('r0', 'R0');
    const silent = await connect(net, time);
    net.block('r0', 'R0', 'silent');
    silent.transport.send(frame(7));
    await time.advance(100);
    expect(silent.state.closed).toBe(false);
    expect(silent.got).toEqual([]);
    const blackholed = await connect(net, time);
    blackholed.transport.send(frame(8));
    await time.advance(100);
    expect(blackholed.state.closed).toBe(false);
    expect(blackholed.got).toEqual([]);

    net.unblockAll();
    const healed = await connect(net, time);
    healed.transport.send(frame(9));
    await time.advance(100);
    expect(healed.got).toEqual([9]);
  });

  it('cuts a relay↔relay pair whichever of the two dialed, and names both ends of each link', async () => {
    time = new VirtualTime().install();
    const net = echoNetwork({});
    net.addEndpoint('R1', 'memory://r1', () => (conn) => ({
      receive: (f) => conn.send(f),
      closed: () => {},
    }));
    const dial = (from: string, url: string) => {
      const transport = net.factoryFor(from)(url);
      const state = { closed: false };
      transport.onClose = () => {
        state.closed = true;
      };
      transport.connect();
      return state;
    };
    const r0toR1 = dial('R0', 'memory://r1');
    const r1toR0 = dial('R1', 'memory://r0');
    await time.advance(5);
    expect(
      net
        .openLinks()
        .map((l) => `${l.from}->${l.to}`)
        .sort(),
    ).toEqual(['R0->R1', 'R1->R0']);
    // Blocked as (R1, R0): both links end, and new dials either way are refused.
    net.block('R1', 'R0', 'visible');
    await time.advance(5);
    expect([r0toR1.closed, r1toR0.closed]).toEqual([true, true]);
    expect(net.isBlocked('R0', 'R1')).toBe(true);
    const again = dial('R0', 'memory://r1');
    await time.advance(5);
    expect(again.closed).toBe(true);
    net.unblock('R0', 'R1');
    const healed = dial('R1', 'memory://r0');
    await time.advance(5);
    expect(healed.closed).toBe(false);
  });
});
