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
