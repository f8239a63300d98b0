import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterWatcher } from './ClusterWatcher.ts';

const body = (relays: string[]) => ({
  relayId: 'r-a',
  url: 'http://a:1',
  peers: [],
  lastAntiEntropyAt: null,
  relays,
});

function respond(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ClusterWatcher', () => {
  it('hands the replica the cluster, served relay first, and only when it changed', async () => {
    const lists: string[][] = [];
    const answers = [
      body(['ws://a:1/sync', 'ws://b:2/sync']),
      body(['ws://a:1/sync', 'ws://b:2/sync']),
      body(['ws://a:1/sync', 'ws://b:2/sync', 'ws://c:3/sync']),
    ];
    const fetch = vi.fn(async () => respond(answers.shift()));
    const watcher = new ClusterWatcher({
      replica: { setRelays: (relays) => lists.push(relays) },
      servedUrl: 'ws://proxy:9/sync',
      apiUrl: 'http://proxy:9/api/cluster',
      fetch,
    });
    await watcher.refresh();
    await watcher.refresh();
    await watcher.refresh();
    expect(fetch).toHaveBeenCalledWith('http://proxy:9/api/cluster', expect.anything());
    expect(lists).toEqual([
      ['ws://proxy:9/sync', 'ws://b:2/sync'],
      ['ws://proxy:9/sync', 'ws://b:2/sync', 'ws://c:3/sync'],
    ]);
    expect(watcher.view?.relayId).toBe('r-a');
    watcher.stop();
  });

  it('keeps the last list and says why when the relay cannot answer', async () => {
    const lists: string[][] = [];
    let answer: () => Promise<Response> = async () => respond(body(['ws://b:2/sync']));
    const watcher = new ClusterWatcher({
      replica: { setRelays: (relays) => lists.push(relays) },
      servedUrl: 'ws://a:1/sync',
      apiUrl: '/api/cluster',
      fetch: () => answer(),
    });
    const told = vi.fn();
    watcher.subscribe(told);
    await watcher.refresh();
    answer = async () => {
      throw new TypeError('Failed to fetch');
    };
    await watcher.refresh();
    expect(watcher.error).toBe('Failed to fetch');
    answer = async () => respond({ nope: true });
    await watcher.refresh();
    expect(watcher.error).toMatch(/relayId/);
    answer = async () => respond('', 404);
    await watcher.refresh();
    expect(watcher.error).toMatch(/HTTP 404/);
    expect(lists).toEqual([['ws://a:1/sync', 'ws://b:2/sync']]);
    expect(watcher.view?.relays).toEqual(['ws://b:2/sync']);
    expect(told).toHaveBeenCalledTimes(4);
    watcher.stop();
  });

  it('asks at start and every interval, but not while offline', async () => {
    vi.useFakeTimers();
    let online = true;
    const fetch = vi.fn(async () => respond(body([])));
    const watcher = new ClusterWatcher({
      replica: { setRelays: () => undefined },
      servedUrl: 'ws://a:1/sync',
      apiUrl: '/api/cluster',
      fetch,
      intervalMs: 60_000,
      isOnline: () => online,
    });
    watcher.start();
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetch).toHaveBeenCalledTimes(2);
    online = false;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetch).toHaveBeenCalledTimes(2);
    watcher.stop();
    online = true;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(
      () =>
        new ClusterWatcher({
          replica: { setRelays() {} },
          servedUrl: 'x',
          apiUrl: 'y',
          intervalMs: 0,
          fetch,
        }),
    ).toThrow(/intervalMs/);
  });
});
