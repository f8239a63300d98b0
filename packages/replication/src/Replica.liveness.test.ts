import { afterEach, describe, expect, it } from 'vitest';
import type { DocHandle } from './ports.ts';
import { ReplicaWorld } from './testing/ReplicaWorld.ts';

const worlds: ReplicaWorld[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

async function eventually(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const body = (handle: DocHandle) => handle.doc.getText('body').toString();

describe('Replica liveness with default settings', () => {
  it('replaces a half-open link within heartbeatTimeoutMs (2.5 s)', async () => {
    const w = new ReplicaWorld();
    worlds.push(w);
    // Default heartbeat settings (1 s probes, 2.5 s timeout).
    const defaults = { heartbeatIntervalMs: undefined, heartbeatTimeoutMs: undefined };
    const a = w.replica(defaults);
    const b = w.replica();
    const [ha, hb] = await Promise.all([a.open('w/live'), b.open('w/live')]);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    // Let a few heartbeats pass, so the silence starts at an arbitrary point of the cycle.
    await new Promise((r) => setTimeout(r, 2500));
    const links = w.network.transports.length;
    const silencedAt = performance.now();
    // Half-open, as after browserContext.setOffline: no close event, nothing arrives.
    for (const t of w.network.transports) if (t.state === 'open') t.silence();
    await eventually(() => a.status.state !== 'synced', 'silence detected', 6000);
    const detectedMs = performance.now() - silencedAt;
    await a.whenSynced();
    const replacedMs = performance.now() - silencedAt;
    console.log(
      `half-open link: detected after ${Math.round(detectedMs)} ms, replaced and synced after ${Math.round(replacedMs)} ms`,
    );
    expect(detectedMs).toBeLessThanOrEqual(2500 + 100);
    // Not before the relay could have been heard from for the last time (one probe period).
    expect(detectedMs).toBeGreaterThanOrEqual(2500 - 1000 - 100);
    expect(w.network.transports.length).toBeGreaterThan(links);
    ha.doc.getText('body').insert(0, 'after the partition');
    await eventually(() => body(hb) === 'after the partition', 'edit crosses the new link', 7000);
  }, 20_000);
});
