/** Where a peer link came from: this relay dialed it, or the peer did. */
export type PeerDirection = 'outbound' | 'inbound';

/**
 * One live link from this relay to one peer relay, as `RelayCore` sees it:
 * it pushes what the relay applies and runs anti-entropy rounds. Today the
 * only implementation is `PeerSession` (a multiplexed WebSocket, or an
 * in-memory transport in the simulation); a pub/sub backend (e.g. Redis
 * between stateless relays) can implement the same contract later.
 *
 * Contract: `push` delivers at least once while the link is open and the
 * peer acknowledges what it durably stored (the core learns it through its
 * `peerHolds` callback); after `close` nothing more is sent.
 */
export interface PeerLink {
  readonly direction: PeerDirection;
  /** The peer's relay id once the handshake completed, else `null`. */
  readonly peerRelayId: string | null;
  /** The peer's announced public URL, if it sent one. */
  readonly peerUrl: string | null;
  /** `true` between the completed handshake and the end of the link. */
  readonly isOpen: boolean;
  /** Forwards an update this relay applied to `docName`. */
  push(docName: string, update: Uint8Array): void;
  /** Starts an anti-entropy round (digest exchange) now. */
  startAntiEntropy(): void;
  /** Ends the link with a `CloseCode`. */
  close(code: number, reason: string): void;
}

/** What `RelayCore.clusterInfo()` reports about one peer. */
export interface PeerInfo {
  /** Dial URL, or the peer's announced url for accepted links. */
  url: string | null;
  /**
   * The base URL the peer announced in its `Hello` (`--public-url`): where
   * clients reach it, which may differ from the address relays dial.
   */
  publicUrl: string | null;
  relayId: string | null;
  direction: PeerDirection;
  state: 'connected' | 'connecting' | 'down';
  /**
   * Operations this relay holds that the peer has not acked (sum over docs of
   * the state-vector difference), `null` until a first digest exchange.
   */
  lagOps: number | null;
  /** ms epoch of the last completed digest exchange with this peer. */
  lastAntiEntropyAt: number | null;
  /** Bytes of that exchange's digest phase (`Digest` + `DigestDocs` frames). */
  lastAntiEntropyBytes: { sent: number; received: number } | null;
}

/** `RelayCore.clusterInfo()`: this relay and its peers. */
export interface ClusterInfo {
  relayId: string;
  url: string | null;
  peers: PeerInfo[];
  /** ms epoch of the last completed anti-entropy exchange with any peer. */
  lastAntiEntropyAt: number | null;
}
