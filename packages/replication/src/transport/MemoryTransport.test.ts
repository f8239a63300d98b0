import * as prng from 'lib0/prng';
import { describe, expect, it } from 'vitest';
import type { ConnectionHandler, RelayConnection, TransportCloseEvent } from '../ports.ts';
import { faultySchedule } from '../testing/faultySchedule.ts';
import { type Acceptor, MemoryTransport } from './MemoryTransport.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** An acceptor that echoes every frame and records what happened. */
function echo() {
  const log: string[] = [];
  let conn: RelayConnection | undefined;
  const acceptor: Acceptor = (c): ConnectionHandler => {
    conn = c;
    log.push('accepted');
    return {
      receive: (frame) => {
        log.push(`got ${frame[0]}`);
        c.send(frame);
      },
      closed: () => log.push('closed'),
    };
  };
  return { acceptor, log, conn: () => conn! };
}

function open(t: MemoryTransport): Promise<void> {
  return new Promise((resolve) => {
    t.onOpen = resolve;
    t.connect();
  });
}

describe('MemoryTransport', () => {
  it('delivers frames asynchronously and in order, both ways', async () => {
    const relay = echo();
    const t = new MemoryTransport(relay.acceptor);
    const got: number[] = [];
    t.onMessage = (f) => got.push(f[0]!);
    await open(t);
    const buffer = new Uint8Array([1]);
    t.send(buffer);
    buffer[0] = 9; // the link copied it
    t.send(new Uint8Array([2]));
    expect(got).toEqual([]);
    expect(t.bufferedAmount).toBe(2);
    await tick();
    expect(got).toEqual([1, 2]);
    expect(relay.log).toEqual(['accepted', 'got 1', 'got 2']);
  });

  it('fails to connect to a missing acceptor', async () => {
    const t = new MemoryTransport(null);
    const closed = new Promise<TransportCloseEvent>((resolve) => {
      t.onClose = resolve;
    });
    t.connect();
    expect((await closed).code).toBe(1006);
  });

  it('tells both ends when either side closes', async () => {
    const relay = echo();
    const t = new MemoryTransport(relay.acceptor);
    await open(t);
    const closes: TransportCloseEvent[] = [];
    t.onClose = (e) => closes.push(e);
    relay.conn().close(4400, 'bad');
    await tick();
    expect(closes).toEqual([{ code: 4400, reason: 'bad' }]);
    expect(relay.log).toContain('closed');

    const relay2 = echo();
    const t2 = new MemoryTransport(relay2.acceptor);
    await open(t2);
    t2.close();
    await tick();
    expect(relay2.log).toEqual(['accepted', 'closed']);
  });

  it('goes silent without closing, or drops like a cut network', async () => {
    const relay = echo();
    const t = new MemoryTransport(relay.acceptor);
    const got: number[] = [];
    t.onMessage = (f) => got.push(f[0]!);
    await open(t);
    t.silence();
    t.send(new Uint8Array([1]));
    await tick();
    expect(got).toEqual([]);
    expect(relay.log).toEqual(['accepted']);
    expect(t.state).toBe('open');

    const relay2 = echo();
    const t2 = new MemoryTransport(relay2.acceptor);
    await open(t2);
    const closed = new Promise<TransportCloseEvent>((resolve) => {
      t2.onClose = resolve;
    });
    t2.sever();
    expect((await closed).code).toBe(1006);
    await tick();
    expect(relay2.log).toContain('closed');
  });

  it('lets a schedule delay, reorder or duplicate frames, or end the link to drop one', async () => {
    const relay = echo();
    const held: (() => void)[] = [];
    const t = new MemoryTransport(relay.acceptor, {
      schedule: (deliver, frame, direction, link) => {
        if (direction === 'up' && frame[0] === 9) {
          link.sever('lost');
          return;
        }
        if (direction === 'up') held.push(deliver);
        else deliver();
        if (direction === 'up' && frame[0] === 2) deliver(); // a duplicate
      },
    });
    const got: number[] = [];
    t.onMessage = (f) => got.push(f[0]!);
    await open(t);
    t.send(new Uint8Array([1]));
    t.send(new Uint8Array([2]));
    expect(t.bufferedAmount).toBe(1); // the duplicate's first copy arrived already
    for (const deliver of held.reverse()) deliver();
    expect(got).toEqual([2, 2, 1]);
    expect(t.bufferedAmount).toBe(0);
    const closed = new Promise<TransportCloseEvent>((resolve) => {
      t.onClose = resolve;
    });
    t.send(new Uint8Array([9]));
    expect((await closed).code).toBe(1006);
    await tick();
    expect(relay.log.at(-1)).toBe('closed');
  });

  it('injects seeded reorder, duplicates and drops with faultySchedule', async () => {
    const run = async (seed: number) => {
      const gen = prng.create(seed);
      const relay = echo();
      const t = new MemoryTransport(relay.acceptor, {
        schedule: faultySchedule({
          random: () => prng.real53(gen),
          maxDelayMs: 4,
          duplicate: 0.3,
          directions: ['up'],
        }),
      });
      const got: number[] = [];
      t.onMessage = (f) => got.push(f[0]!);
      await open(t);
      for (let i = 0; i < 40; i++) t.send(new Uint8Array([i]));
      await tick(30);
      t.close();
      return got;
    };
    const a = await run(7);
    // Seeded: the same frames are duplicated again (arrival order also depends on timer timing).
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    expect(sorted(await run(7))).toEqual(sorted(a));
    expect(new Set(a).size).toBe(40); // nothing lost on a healthy link…
    expect(a.length).toBeGreaterThan(40); // …some arrived twice…
    expect(a).not.toEqual(sorted(a)); // …and some overtook others.
  });
});
