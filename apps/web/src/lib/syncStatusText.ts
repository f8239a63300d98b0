import type { ClusterSummary, SyncStatus } from '@lattice/replication';

/** What the sync badge says and how it reads to assistive technology. */
export interface SyncStatusText {
  label: string;
  /** A longer explanation for the tooltip. */
  detail: string;
  /** Set when the label is "Saved on N of M relays": the label's "on N of M relays" part. */
  clusterCount?: string;
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
export function syncStatusText(
  status: SyncStatus,
  relayCount: number,
  cluster?: ClusterSummary,
): SyncStatusText {
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
      if (status.pendingLocal) return WAITING_FOR_RELAY;
      if (cluster && cluster.relaysKnown > 1) {
        // The relay we talk to acked everything; its peers confirm through it as they catch up.
        const { relaysHoldingAll: n, relaysKnown: m } = cluster;
        const count = `on ${n} of ${m} relays`;
        return {
          label: `Saved ${count}`,
          clusterCount: count,
          detail:
            n >= m
              ? `Everything on this device is stored on all ${m} relays of the cluster.`
              : `Everything on this device is stored on ${n} of the cluster's ${m} relays; the others receive it from their peers.`,
        };
      }
      return {
        label: 'All changes saved on relay',
        detail: 'Everything on this device is stored on the relay: it survives losing this device.',
      };
  }
}
