import { describe, expect, it } from 'vitest';
import { syncStatusText } from './syncStatusText.ts';

describe('syncStatusText', () => {
  it('names each state the way the badge shows it', () => {
    expect(syncStatusText({ state: 'offline', pendingLocal: true }, 1).label).toBe(
      'Offline — changes saved on this device',
    );
    expect(syncStatusText({ state: 'connecting', pendingLocal: false }, 1).label).toBe(
      'Connecting…',
    );
    expect(syncStatusText({ state: 'syncing', pendingLocal: false }, 1).label).toBe('Syncing…');
    expect(syncStatusText({ state: 'synced', pendingLocal: false }, 1).label).toBe(
      'All changes saved on relay',
    );
  });

  it('never claims everything is synced while local changes are pending', () => {
    for (const state of ['syncing', 'synced'] as const) {
      const { label } = syncStatusText({ state, pendingLocal: true }, 1);
      expect(label).toBe('Saved on this device — waiting for relay');
      expect(label).not.toMatch(/saved on relay/i);
    }
    expect(syncStatusText({ state: 'offline', pendingLocal: true }, 1).label).not.toMatch(
      /on relay/i,
    );
  });

  it('explains a workspace with no relay', () => {
    expect(syncStatusText({ state: 'offline', pendingLocal: false }, 0).detail).toMatch(
      /this device only/,
    );
  });
});

describe('syncStatusText in a cluster', () => {
  it('says on how many relays everything is saved once more than one relay is known', () => {
    const synced = { state: 'synced', pendingLocal: false } as const;
    const text = syncStatusText(synced, 1, { relaysHoldingAll: 2, relaysKnown: 3 });
    expect(text.label).toBe('Saved on 2 of 3 relays');
    expect(text.clusterCount).toBe('on 2 of 3 relays');
    expect(text.detail).toMatch(/2 of the cluster's 3 relays/);
    expect(syncStatusText(synced, 1, { relaysHoldingAll: 3, relaysKnown: 3 }).detail).toMatch(
      /all 3 relays/,
    );
  });

  it('keeps the single-relay wording and never counts relays while changes are pending', () => {
    const synced = { state: 'synced', pendingLocal: false } as const;
    expect(syncStatusText(synced, 1, { relaysHoldingAll: 1, relaysKnown: 1 }).label).toBe(
      'All changes saved on relay',
    );
    const pending = syncStatusText({ state: 'synced', pendingLocal: true }, 1, {
      relaysHoldingAll: 0,
      relaysKnown: 3,
    });
    expect(pending.label).toBe('Saved on this device — waiting for relay');
    expect(pending.clusterCount).toBeUndefined();
  });
});
