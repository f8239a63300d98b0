import type { SyncStatus } from '@lattice/replication';

/** What the sync badge says and how it reads to assistive technology. */
export interface SyncStatusText {
  label: string;
  /** A longer explanation for the tooltip. */
  detail: string;
}

// Saved locally is not saved: the relay has not confirmed it stored these yet.
const WAITING_FOR_RELAY: SyncStatusText = {
  label: 'Saved on this device — waiting for relay',
  detail:
    'Your latest changes are stored on this device and on their way to the relay, which has not confirmed storing them yet.',
};

/**
 * Maps a replica's status to words a person understands at a glance. The
 * question people actually have is "is my work safe?", so pending local
 * changes change the wording even while connected.
 */
export function syncStatusText(status: SyncStatus, relayCount: number): SyncStatusText {
  switch (status.state) {
    case 'offline':
      return {
        label: 'Offline — changes saved on this device',
        detail:
          relayCount === 0
            ? 'No relay is configured: this workspace lives on this device only.'
            : status.pendingLocal
              ? 'Some changes are only on this device. They will sync when the connection is back. Click to retry now.'
              : 'Not connected. Click to retry now.',
      };
    case 'connecting':
      return {
        label: 'Connecting…',
        detail: status.pendingLocal
          ? 'Connecting to the relay; some changes are only on this device so far.'
          : 'Connecting to the relay.',
      };
    case 'syncing':
      return status.pendingLocal
        ? WAITING_FOR_RELAY
        : { label: 'Syncing…', detail: 'Exchanging changes with the relay.' };
    case 'synced':
      return status.pendingLocal
        ? WAITING_FOR_RELAY
        : {
            label: 'All changes saved on relay',
            detail:
              'Everything on this device is stored on the relay: it survives losing this device.',
          };
  }
}
