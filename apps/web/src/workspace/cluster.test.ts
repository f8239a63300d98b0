import { describe, expect, it } from 'vitest';
import { clusterRelayList, parseClusterView, syncUrlOf } from './cluster.ts';

const answer = {
  relayId: 'r-a',
  url: 'http://127.0.0.1:4001',
  lastAntiEntropyAt: 1_700_000_000_000,
  peers: [
    {
      url: 'ws://127.0.0.1:4002/sync',
      relayId: 'r-b',
      direction: 'outbound',
      state: 'connected',
      lagOps: 0,
      lastAntiEntropyAt: null,
      lastAntiEntropyBytes: { sent: 10, received: 20 },
    },
    {
      url: null,
      relayId: null,
      direction: 'inbound',
      state: 'down',
      lagOps: null,
      lastAntiEntropyAt: null,
    },
  ],
  relays: ['ws://127.0.0.1:4001/sync', 'ws://127.0.0.1:4002/sync', 'ws://127.0.0.1:4003/sync'],
};

describe('parseClusterView', () => {
  it('keeps what the app uses of a /api/cluster answer', () => {
    const view = parseClusterView(answer);
    expect(view.relayId).toBe('r-a');
    expect(view.relays).toHaveLength(3);
    expect(view.peers[0]).toEqual({
      url: 'ws://127.0.0.1:4002/sync',
      relayId: 'r-b',
      direction: 'outbound',
      state: 'connected',
      lagOps: 0,
      lastAntiEntropyAt: null,
    });
    expect(view.peers[1]?.state).toBe('down');
  });

  it('refuses malformed answers, naming the field', () => {
    expect(() => parseClusterView(null)).toThrow(/not an object/);
    expect(() => parseClusterView({ ...answer, relayId: '' })).toThrow(/relayId/);
    expect(() => parseClusterView({ ...answer, relays: 'ws://x/sync' })).toThrow(/relays must/);
    expect(() => parseClusterView({ ...answer, relays: ['http://x/sync'] })).toThrow(/relays\[0\]/);
    expect(() =>
      parseClusterView({ ...answer, peers: [{ ...answer.peers[0], state: 'happy' }] }),
    ).toThrow(/peers\[0\]\.state/);
    expect(() =>
      parseClusterView({ ...answer, peers: [{ ...answer.peers[0], lagOps: 'many' }] }),
    ).toThrow(/peers\[0\]\.lagOps/);
  });
});

describe('clusterRelayList', () => {
  it('puts the serving relay first and drops its own entry from the list', () => {
    const view = parseClusterView(answer);
    // Served through a proxy: the proxy's URL stands for relay A.
    expect(clusterRelayList('ws://proxy:9000/sync', view)).toEqual([
      'ws://proxy:9000/sync',
      'ws://127.0.0.1:4002/sync',
      'ws://127.0.0.1:4003/sync',
    ]);
    expect(clusterRelayList('ws://127.0.0.1:4001/sync', view)).toEqual(answer.relays);
  });

  it('keeps every relay when the answering relay does not know its URL', () => {
    const view = parseClusterView({ ...answer, url: null });
    expect(clusterRelayList('ws://h/sync', view)).toEqual(['ws://h/sync', ...answer.relays]);
  });
});

describe('syncUrlOf', () => {
  it('maps a public base URL to its multiplexed endpoint', () => {
    expect(syncUrlOf('http://a:1')).toBe('ws://a:1/sync');
    expect(syncUrlOf('https://notes.example/')).toBe('wss://notes.example/sync');
    expect(syncUrlOf('ftp://a')).toBeNull();
    expect(syncUrlOf('not a url')).toBeNull();
    expect(syncUrlOf(null)).toBeNull();
  });
});
