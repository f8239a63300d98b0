import { CloseCode, type DocErrorCode, type DocMessage, type HelloAccess } from './protocol.ts';
import type { AccessProblem, RelayEndpoint } from './replicationInfo.ts';

/** `offline`: no connection (waiting to retry); `connecting`: in progress; `ready`: docs may be synced. */
export type LinkState = 'offline' | 'connecting' | 'ready';

/** What a link reports to the `Replica` that owns it. */
export interface LinkEvents {
  /** The link's state changed. */
  onState: (state: LinkState) => void;
  /** A new connection is usable; `epoch` identifies it. */
  onReady: (epoch: number) => void;
  onDocs: (messages: DocMessage[]) => void;
  /** Every message numbered up to `seq` for `docName` on this connection is stored (or, y-websocket, delivered). */
  onAck: (docName: string, seq: number, stateVector: Uint8Array) => void;
  onDocError: (docName: string, code: DocErrorCode, reason: string) => void;
  /** Lattice only: a peer relay `relayId` of the connected relay durably holds `stateVector` of `docName`. */
  onClusterAck: (docName: string, relayId: string, stateVector: Uint8Array) => void;
  onError: (error: Error) => void;
  /** Relay id or heartbeat round trip changed. */
  onInfo: () => void;
  /** Lattice only: the relay's `Hello` said what this connection may do (before `onReady`). */
  onAccess: (role: HelloAccess | null) => void;
  /**
   * The relay closed with 4401/4403/4419: the token is not good enough. The
   * link stops retrying (every relay of a cluster shares one registry) until
   * `setUrls` gets a different list (a new token).
   */
  onDenied: (problem: AccessProblem, reason: string) => void;
  /** y-websocket only: the doc's own socket ended; whatever was in flight on it is unconfirmed. */
  onDocLost: (docName: string) => void;
  /**
   * y-websocket only: send a `SyncStep1` for the doc now (heartbeat, delivery
   * check); `newSocket`: the doc just got a new socket (send awareness too).
   */
  onProbe: (docName: string, newSocket: boolean) => void;
}

/**
 * The front end's connection to one relay at a time, as the `Replica` uses
 * it: a Lattice multiplexed socket (`RelayLink`) or one plain y-websocket
 * socket per doc (`YWebsocketLink`).
 */
export interface FrontLink {
  readonly state: LinkState;
  /** Identifies the current connection; doc messages and numbers are only valid within one. */
  readonly epoch: number;
  /** The relay in use (or tried next while offline). */
  readonly endpoint: RelayEndpoint;
  /** The relay's id from its `Hello` on the current connection (`null` if none). */
  readonly relayId: string | null;
  /** Round trip of the latest answered heartbeat. */
  readonly heartbeatRttMs: number | null;
  start(): void;
  /** Replaces the relay list; keeps the current connection if its URL is still listed. */
  setUrls(urls: readonly string[]): void;
  /** Stops for good. */
  stop(): void;
  /** Connect now, skipping a backoff wait; probe an established link. */
  reconnect(): void;
  /** Sends a doc message on the current connection; the first message naming a doc subscribes it. */
  enqueue(message: DocMessage): void;
  /** Unsubscribes a doc; `seq` is the last number sent for it on this connection. */
  leave(docName: string, seq: number): void;
  /** Holds outgoing doc messages until the returned release is called (batching). */
  hold(): () => void;
  /** Whether the doc is open in the UI (y-websocket keeps those on their own sockets first). */
  setLive(docName: string, live: boolean): void;
}

/** The access problem a close code stands for (`null`: not about access, retry as usual). */
export function accessProblemOf(code: number): AccessProblem | null {
  switch (code) {
    case CloseCode.Unauthorized:
      return 'unauthorized';
    case CloseCode.Forbidden:
      return 'forbidden';
    case CloseCode.TokenExpired:
      return 'expired';
    default:
      return null;
  }
}
