import { describe, expect, it } from 'vitest';
import { type SocketSample, showedLife } from './socketLiveness.ts';

const idle: SocketSample = { read: 1_000, backlog: 0, sent: 5_000 };

describe('showedLife', () => {
  it('counts any byte read, a pong included', () => {
    expect(showedLife(idle, { ...idle, read: 1_002 })).toBe(true);
    expect(showedLife(idle, idle)).toBe(false);
  });

  it('counts a backlog that drained since the earlier sweep', () => {
    const waiting = { ...idle, backlog: 2_000_000 };
    // The kernel took bytes that had to wait: the other end acknowledged data.
    expect(showedLife(waiting, { ...waiting, backlog: 1_500_000, sent: 505_000 })).toBe(true);
    // Still draining while more is queued behind: the backlog did not shrink, but it moved.
    expect(showedLife(waiting, { ...waiting, backlog: 2_100_000, sent: 300_000 })).toBe(true);
  });

  it('does not count a backlog that is stuck', () => {
    const waiting = { ...idle, backlog: 2_000_000 };
    expect(showedLife(waiting, { ...waiting, backlog: 2_040_000 })).toBe(false);
  });

  it('does not count bytes the kernel took while it had room (a trickle to a dead link)', () => {
    // Every sweep the relay wrote a few frames and the kernel took them at once.
    let before = idle;
    for (let i = 0; i < 10; i++) {
      const now = { ...before, sent: before.sent + 300 };
      expect(showedLife(before, now)).toBe(false);
      before = now;
    }
  });
});
