import type { SyncStatus } from '@lattice/replication';

/** What the sync badge says and how it reads to assistive technology. */
export interface SyncStatusText {
  label: string;
  /** A longer explanation for the tooltip. */
  detail: string;
}

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
        ? {
            label: 'Saving to relay…',
            detail: 'Your latest changes are being stored on the relay.',
          }
        : { label: 'Syncing…', detail: 'Exchanging changes with the relay.' };
    case 'synced':
      return status.pendingLocal
        ? {
            label: 'Saving to relay…',
            detail: 'Your latest changes are being stored on the relay.',
          }
        : {
            label: 'All changes synced',
            detail: 'Everything on this device is stored on the relay.',
          };
  }
}
