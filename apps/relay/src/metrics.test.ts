import { describe, expect, it } from 'vitest';
import { createRelayMetrics } from './metrics.ts';
import { parsePromText } from './testing/index.ts';

describe('createRelayMetrics', () => {
  // Frames are tallied in plain numbers and folded into the counters at
  // scrape time: each frame must count exactly once, however often scraped.
  it('counts every frame once across scrapes', async () => {
    const metrics = createRelayMetrics(() => undefined);
    const scrape = async () => parsePromText(await metrics.render());
    const first = await scrape();
    expect(first.value('lattice_messages_total', { direction: 'in' })).toBe(0);
    expect(first.value('lattice_bytes_total', { direction: 'out' })).toBe(0);
    for (let i = 0; i < 3; i++) metrics.frame('in', 10);
    metrics.frame('out', 7);
    const second = await scrape();
    expect(second.value('lattice_messages_total', { direction: 'in' })).toBe(3);
    expect(second.value('lattice_bytes_total', { direction: 'in' })).toBe(30);
    expect(second.value('lattice_messages_total', { direction: 'out' })).toBe(1);
    expect(second.value('lattice_bytes_total', { direction: 'out' })).toBe(7);
    const third = await scrape();
    expect(third.value('lattice_messages_total', { direction: 'in' })).toBe(3);
    expect(third.value('lattice_bytes_total', { direction: 'out' })).toBe(7);
    metrics.frame('out', 5);
    const fourth = await scrape();
    expect(fourth.value('lattice_messages_total', { direction: 'out' })).toBe(2);
    expect(fourth.value('lattice_bytes_total', { direction: 'out' })).toBe(12);
    expect(fourth.value('lattice_messages_total', { direction: 'in' })).toBe(3);
  });
});
