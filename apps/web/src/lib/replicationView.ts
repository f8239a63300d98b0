import type { DocReplicationInfo, RelayInfo, StateVectorEntry } from '@lattice/replication';
import { relativeTime } from './relativeTime.ts';

/** One client's row in the state-vector table: this device's clock beside each relay's acked clock. */
export interface StateVectorRow {
  clientId: number;
  /** Operations of this client this device holds (0 when it holds none). */
  local: number;
  /** Per relay (in `info.acked` order): operations of this client the relay acked. */
  acked: number[];
  /** Per relay: whether it acked less of this client than this device holds. */
  behind: boolean[];
}

/**
 * Lines up this replica's state vector with every relay's acked one, client
 * by client (sorted by id), so a person can see which writer the relay has
 * not confirmed yet. A client missing from a vector counts as clock 0, which
 * is what a state vector means.
 */
export function stateVectorRows(info: DocReplicationInfo): StateVectorRow[] {
  const clock = (vector: StateVectorEntry[]) => new Map(vector.map((e) => [e.clientId, e.clock]));
  const local = clock(info.local);
  const acked = info.acked.map((a) => clock(a.stateVector));
  const ids = new Set<number>(local.keys());
  for (const vector of acked) for (const id of vector.keys()) ids.add(id);
  return [...ids]
    .sort((a, b) => a - b)
    .map((clientId) => {
      const mine = local.get(clientId) ?? 0;
      const theirs = acked.map((vector) => vector.get(clientId) ?? 0);
      return { clientId, local: mine, acked: theirs, behind: theirs.map((c) => c < mine) };
    });
}

/**
 * "How long ago", fine-grained for the recent past where sync happens:
 * "just now" (under 2 s), "12 s ago", then as `relativeTime`; "never" for null.
 */
export function ageText(then: number | null, now: number): string {
  if (then === null) return 'never';
  const age = now - then;
  if (age < 2000) return 'just now';
  if (age < 60_000) return `${Math.floor(age / 1000)} s ago`;
  return relativeTime(then, now);
}

const RELAY_STATE_TEXT: Record<RelayInfo['state'], string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  offline: 'Offline',
  standby: 'Standby',
};

export function relayStateText(state: RelayInfo['state']): string {
  return RELAY_STATE_TEXT[state];
}

/** A peer link's state (from `/api/cluster`) for people. */
export function peerStateText(state: 'connected' | 'connecting' | 'down'): string {
  return state === 'down' ? 'Down' : RELAY_STATE_TEXT[state];
}

/** A peer's lag in operations for people: "in sync", "12 operations behind", "—" when unknown. */
export function lagText(ops: number | null): string {
  if (ops === null || !Number.isFinite(ops) || ops < 0) return '—';
  if (ops === 0) return 'in sync';
  return `${ops} ${ops === 1 ? 'operation' : 'operations'} behind`;
}

/** A round-trip time for people: whole ms, "<1 ms" on loopback, "—" when unknown. */
export function rttText(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1) return '<1 ms';
  return `${Math.round(ms)} ms`;
}
