/**
 * The relay cluster as `GET /api/cluster` on the serving relay describes it
 * (see docs/ARCHITECTURE.md), checked field by field: the web app shows it and
 * fails over along it, so a malformed answer is refused with a clear error
 * rather than half-used.
 */

/** One peer link of the answering relay. */
export interface ClusterPeerView {
  url: string | null;
  relayId: string | null;
  direction: 'outbound' | 'inbound';
  state: 'connected' | 'connecting' | 'down';
  /** Operations the answering relay holds that this peer has not acked (null: unknown). */
  lagOps: number | null;
  lastAntiEntropyAt: number | null;
}

/** What the app uses of a `/api/cluster` answer. */
export interface ClusterView {
  relayId: string;
  /** The answering relay's public base URL (`http://host:port`), if it knows it. */
  url: string | null;
  peers: ClusterPeerView[];
  lastAntiEntropyAt: number | null;
  /** Multiplexed URLs (`ws://…/sync`) of the answering relay and every peer it knows. */
  relays: string[];
}

const SYNC_URL = /^wss?:\/\/[^\s/]+/;

function fail(what: string): never {
  throw new Error(`/api/cluster answer: ${what}`);
}

function nullableString(value: unknown, what: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') fail(`${what} must be a string or null`);
  return value;
}

function nullableNumber(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(`${what} must be a number or null`);
  return value;
}

/** Checks a parsed `/api/cluster` body; throws an `Error` naming the first bad field. */
export function parseClusterView(body: unknown): ClusterView {
  if (typeof body !== 'object' || body === null) fail('not an object');
  const b = body as Record<string, unknown>;
  if (typeof b.relayId !== 'string' || b.relayId === '') fail('relayId must be a non-empty string');
  if (!Array.isArray(b.relays)) fail('relays must be an array');
  const relays = b.relays.map((url, i) => {
    if (typeof url !== 'string' || !SYNC_URL.test(url)) fail(`relays[${i}] must be a ws(s):// URL`);
    return url;
  });
  const peersIn = b.peers ?? [];
  if (!Array.isArray(peersIn)) fail('peers must be an array');
  const peers = peersIn.map((p: unknown, i): ClusterPeerView => {
    if (typeof p !== 'object' || p === null) fail(`peers[${i}] must be an object`);
    const peer = p as Record<string, unknown>;
    if (peer.direction !== 'outbound' && peer.direction !== 'inbound') {
      fail(`peers[${i}].direction must be outbound or inbound`);
    }
    if (peer.state !== 'connected' && peer.state !== 'connecting' && peer.state !== 'down') {
      fail(`peers[${i}].state must be connected, connecting or down`);
    }
    return {
      url: nullableString(peer.url, `peers[${i}].url`),
      relayId: nullableString(peer.relayId, `peers[${i}].relayId`),
      direction: peer.direction,
      state: peer.state,
      lagOps: nullableNumber(peer.lagOps, `peers[${i}].lagOps`),
      lastAntiEntropyAt: nullableNumber(peer.lastAntiEntropyAt, `peers[${i}].lastAntiEntropyAt`),
    };
  });
  return {
    relayId: b.relayId,
    url: nullableString(b.url, 'url'),
    peers,
    lastAntiEntropyAt: nullableNumber(b.lastAntiEntropyAt, 'lastAntiEntropyAt'),
    relays,
  };
}

/** `http://host:port` → `ws://host:port/sync` (https → wss); null for anything else. */
export function syncUrlOf(baseUrl: string | null): string | null {
  if (baseUrl === null) return null;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const scheme = url.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${url.host}/sync`;
}

/**
 * The relay list for the replica: the relay that served the app first (it is
 * reachable from here: we just talked to it, maybe through a proxy), then the
 * cluster's other relays in the order given. The answering relay's own entry
 * is dropped, since `servedUrl` already stands for it.
 */
export function clusterRelayList(servedUrl: string, view: ClusterView): string[] {
  const self = syncUrlOf(view.url);
  const list = [servedUrl];
  for (const url of view.relays) {
    if (url === self || list.includes(url)) continue;
    list.push(url);
  }
  return list;
}
