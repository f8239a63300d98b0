import * as Y from 'yjs';
import { DEFAULT_BACKOFF } from '../backoff.ts';
import type {
  ConnectionHandler,
  RelayConnection,
  StorageAdapter,
  TransportFactory,
} from '../ports.ts';
import { CloseCode, type HelloInfo } from '../protocol.ts';
import { type Access, OPEN_ACCESS, type PeerProof, SYSTEM_DOC_PREFIX } from './access.ts';
import { CompactionGate } from './CompactionGate.ts';
import {
  bucketOf,
  DigestIndex,
  encodeRecord,
  fingerprintKey,
  markCleanShutdown,
  takeCleanShutdown,
} from './DigestIndex.ts';

import { decodeSv, mergeSv, opsAhead, type StateVectorMap } from './fingerprint.ts';
import { MultiplexedSession } from './MultiplexedSession.ts';
import { noopMetrics, type RelayMetrics } from './metrics.ts';
import { PeerDialer } from './PeerDialer.ts';
import type { ClusterInfo, PeerDirection, PeerInfo } from './PeerLink.ts';
import { type PeerContext, PeerSession } from './PeerSession.ts';
import { type RelayLog, Room, type RoomMember } from './Room.ts';
import type { SessionContext } from './sessionContext.ts';
import { YWebsocketSession } from './YWebsocketSession.ts';

/** Options of a `RelayCore`. */
export interface RelayCoreOptions {
  /** Where rooms load from and commit to; the core never closes it. */
  storage: StorageAdapter;
  /** Announced in relay `Hello`s; random when omitted. */
  relayId?: string;
  /** Group-commit window: updates arriving within it share one `storage.append` (default 3 ms). */
  commitWindowMs?: number;
  /** A room without subscribers unloads (and compacts) after this long (default 30 s). */
  idleUnloadMs?: number;
  /** A room compacts its log once it holds more than this many entries (default 500). */
  compactAfterUpdates?: number;
  /**
   * How many rooms compact after a commit at once (default 2); the others
   * compact after a later commit (see `CompactionGate`).
   */
  maxConcurrentCompactions?: number;
  /** A multiplexed socket without a valid `Hello` this long is closed (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Heartbeat probes to multiplexed sockets this often (default 5 s; 0 disables probes and the timeout). */
  heartbeatIntervalMs?: number;
  /**
   * A multiplexed socket from which nothing (any frame counts) arrived for this
   * long is closed with `CloseCode.HeartbeatTimeout`, freeing its awareness
   * states (default 15 s; must exceed `heartbeatIntervalMs`).
   */
  heartbeatTimeoutMs?: number;
  /** Structured events (room loads, commits, closes); silent when omitted. */
  log?: RelayLog;
  /** This relay's public base URL (`http://host:port`), announced in Hellos and `clusterInfo`. */
  publicUrl?: string;
  /** Anti-entropy with each peer this often, besides on every (re)connect (default 30 s; 0: only on connect). */
  antiEntropyIntervalMs?: number;
  /** Jitter source for peer re-dial backoff (default `Math.random`; the simulation passes its seeded one). */
  random?: () => number;
  /** Rejections and ack latencies are reported here (default: discarded). */
  metrics?: RelayMetrics;
  /** Docs one multiplexed client socket may subscribe; more get `DocError(TooManyDocs)` (default 20,000). */
  maxDocsPerConnection?: number;
  /**
   * The cluster secret, as proofs: when set, only connections accepted with
   * `{kind: 'peer'}` access may become peer links, inbound peer Hellos are
   * answered with a proof, and outbound links are used only after the peer's
   * proof checked out (else closed with `Unauthorized`). When omitted, `open`
   * connections may become peer links too (`--auth off` without a secret).
   */
  peerProof?: PeerProof;
}

/** What this relay knows about one peer relay, across its links. */
interface PeerState {
  relayId: string;
  url: string | null;
  /** The base URL the peer announced in its `Hello` (where clients reach it). */
  publicUrl: string | null;
  direction: PeerDirection;
  /** Per doc, the state vector the peer is known to hold durably. */
  acked: Map<string, StateVectorMap>;
  /** Same, encoded, for cluster acks to clients. */
  ackedEncoded: Map<string, Uint8Array>;
  compared: boolean;
  lastAntiEntropyAt: number | null;
  lastAntiEntropyBytes: { sent: number; received: number } | null;
}

type Session = MultiplexedSession | YWebsocketSession;

/** Open connections by kind (`RelayCore.stats`). */
export interface ConnectionsByKind {
  multiplexed: number;
  'y-websocket': number;
  peer: number;
}

/** Base delay and cap of peer re-dials (full jitter). */
const PEER_BACKOFF = { baseMs: DEFAULT_BACKOFF.baseMs, maxMs: DEFAULT_BACKOFF.maxMs };

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`RelayCore: ${name} must be a non-negative number, got ${value}`);
  }
  return value;
}

const noLog: RelayLog = () => {};

/**
 * The content-agnostic relay: rooms (one per doc name) shared by Lattice
 * multiplexed sockets and plain y-websocket sockets. Isomorphic — it only sees
 * `RelayConnection`s and a `StorageAdapter`, so it runs behind `ws` in Node
 * and inside the in-memory simulation alike.
 */
export class RelayCore {
  readonly relayId: string;
  readonly #storage: StorageAdapter;
  readonly #commitWindowMs: number;
  readonly #idleUnloadMs: number;
  readonly #compactAfterUpdates: number;
  readonly #compactionGate: CompactionGate;
  readonly #log: RelayLog;
  readonly #metrics: RelayMetrics;
  readonly #ctx: SessionContext;
  /** The current incarnation of each room, by doc name. */
  readonly #rooms = new Map<string, Room>();
  /** Every room that has not finished unloading, including superseded incarnations. */
  readonly #live = new Set<Room>();
  readonly #sessions = new Set<Session>();
  #closing: Promise<void> | null = null;
  readonly #publicUrl: string | null;
  readonly #antiEntropyIntervalMs: number;
  readonly #random: () => number;
  /** Fingerprints and durable state vectors of every stored doc. */
  readonly #index = new DigestIndex();
  /** Settles once the index holds every stored doc (anti-entropy waits for it). */
  readonly #indexReady: Promise<void>;
  /** The last run's clean-shutdown marker is read and removed (see `takeCleanShutdown`). */
  readonly #markerTaken: Promise<void>;
  /** The index loaded: a clean shutdown may say its records are current. */
  #indexLoaded = false;
  /** A fingerprint record could not be written: this run's shutdown is not clean. */
  #fpWriteFailed = false;
  readonly #dialers = new Map<string, PeerDialer>();
  /** Open (or handshaking) peer sessions, both directions. */
  readonly #peerSessions = new Set<PeerSession>();
  readonly #peerMembers = new WeakMap<object, PeerSession>();
  readonly #peers = new Map<string, PeerState>();
  readonly #peerCtx: PeerContext;
  /** Rooms whose durable state changed since the index last took it (see `#refreshIndex`). */
  readonly #staleRooms = new Set<Room>();
  /** Fingerprint records waiting to be written (latest value per doc). */
  readonly #fpDirty = new Map<string, Uint8Array>();
  #fpWriting = false;

  constructor(options: RelayCoreOptions) {
    this.#storage = options.storage;
    this.relayId = options.relayId ?? globalThis.crypto.randomUUID();
    this.#commitWindowMs = nonNegative('commitWindowMs', options.commitWindowMs, 3);
    this.#idleUnloadMs = nonNegative('idleUnloadMs', options.idleUnloadMs, 30_000);
    this.#compactAfterUpdates = nonNegative(
      'compactAfterUpdates',
      options.compactAfterUpdates,
      500,
    );
    this.#compactionGate = new CompactionGate(options.maxConcurrentCompactions ?? 2);
    const handshakeTimeoutMs = nonNegative(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs,
      10_000,
    );
    const heartbeatIntervalMs = nonNegative(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      5_000,
    );
    const heartbeatTimeoutMs = nonNegative(
      'heartbeatTimeoutMs',
      options.heartbeatTimeoutMs,
      15_000,
    );
    if (heartbeatIntervalMs > 0 && heartbeatTimeoutMs <= heartbeatIntervalMs) {
      throw new RangeError(
        `RelayCore: heartbeatTimeoutMs (${heartbeatTimeoutMs}) must exceed heartbeatIntervalMs (${heartbeatIntervalMs})`,
      );
    }
    this.#log = options.log ?? noLog;
    this.#metrics = options.metrics ?? noopMetrics;
    if (options.publicUrl !== undefined && !/^https?:\/\/\S+$/.test(options.publicUrl)) {
      throw new RangeError(`RelayCore: publicUrl must be an http(s) URL, got ${options.publicUrl}`);
    }
    this.#publicUrl = options.publicUrl ?? null;
    this.#antiEntropyIntervalMs = nonNegative(
      'antiEntropyIntervalMs',
      options.antiEntropyIntervalMs,
      30_000,
    );
    this.#random = options.random ?? Math.random;
    this.#peerCtx = this.#makePeerContext(
      handshakeTimeoutMs,
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      options.peerProof,
    );
    const clean = takeCleanShutdown(this.#storage);
    // Rooms open (and so commit) only after the marker is gone.
    this.#markerTaken = clean.then(
      () => undefined,
      () => undefined,
    );
    this.#indexReady = clean
      .then((wasClean) => this.#index.load(this.#storage, wasClean))
      .then(
        ({ docs, rebuilt }) => {
          this.#indexLoaded = true;
          this.#log('relay.index_loaded', { docs, rebuilt });
        },
        (err: unknown) =>
          this.#log('relay.index_load_failed', {
            error: err instanceof Error ? err.message : String(err),
          }),
      );
    const maxDocsPerConnection = nonNegative(
      'maxDocsPerConnection',
      options.maxDocsPerConnection,
      20_000,
    );
    this.#ctx = {
      relayId: this.relayId,
      maxDocsPerConnection,
      handshakeTimeoutMs,
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      log: this.#log,
      metrics: this.#metrics,
      openPeers: options.peerProof === undefined,
      join: (docName, member) => this.#join(docName, member),
      acceptPeer: (conn, hello, ended) => this.#acceptPeer(conn, hello, ended),
      clusterAcks: (docName) => this.#clusterAcks(docName),
      ended: (session) => {
        this.#sessions.delete(session as Session);
      },
    };
  }

  /**
   * Accepts a Lattice multiplexed socket (`/sync`); feed its frames to the
   * returned handler. `access`: what the caller verified about the other end
   * (default: everything, as with `--auth off`).
   */
  acceptMultiplexed(conn: RelayConnection, access: Access = OPEN_ACCESS): ConnectionHandler {
    if (this.#closing !== null) return refuse(conn);
    return this.#track(new MultiplexedSession(conn, this.#ctx, access));
  }

  /** Accepts a plain y-websocket socket for `docName` (`/ws/<docName>`), limited to `access`. */
  acceptYWebsocket(
    conn: RelayConnection,
    docName: string,
    access: Access = OPEN_ACCESS,
  ): ConnectionHandler {
    if (this.#closing !== null) return refuse(conn);
    return this.#track(new YWebsocketSession(conn, docName, this.#ctx, access));
  }

  /**
   * Closes every client connection whose access matches (e.g. a revoked
   * token's grant id) with `code`; returns how many were closed.
   */
  closeSessions(matches: (access: Access) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const session of [...this.#sessions]) {
      if (!session.isClosed && matches(session.access)) {
        session.close(code, reason);
        closed++;
      }
    }
    return closed;
  }

  /**
   * Joins the relay's own system doc `docName` (under `SYSTEM_DOC_PREFIX`,
   * e.g. the auth registry) as `member`: its writes through
   * `room.receive(member, …, seq)` are stored, acked to `member` and gossiped
   * like any client's; updates from peers reach `member.send`. The room stays
   * loaded until the member leaves.
   */
  openSystemDoc(docName: string, member: RoomMember): Promise<Room> {
    if (!docName.startsWith(SYSTEM_DOC_PREFIX)) {
      return Promise.reject(
        new RangeError(`RelayCore.openSystemDoc: ${docName} is not under ${SYSTEM_DOC_PREFIX}`),
      );
    }
    return this.#join(docName, member);
  }

  /**
   * Rooms in memory (loading or loaded) and open connections: `connections`
   * counts accepted client sockets (a `/sync` socket that became a peer link
   * included); `connectionsByKind` splits them, with every open or
   * handshaking peer link (dialed or accepted) under `peer`.
   */
  stats(): { rooms: number; connections: number; connectionsByKind: ConnectionsByKind } {
    const byKind: ConnectionsByKind = { multiplexed: 0, 'y-websocket': 0, peer: 0 };
    for (const session of this.#sessions) {
      if (session instanceof YWebsocketSession) byKind['y-websocket']++;
      // Its peer session is counted below, among the peer sessions.
      else if (!session.isPeer) byKind.multiplexed++;
    }
    byKind.peer = this.#peerSessions.size;
    return { rooms: this.#rooms.size, connections: this.#sessions.size, connectionsByKind: byKind };
  }

  /**
   * Graceful shutdown: refuses new connections, flushes every room's pending
   * commits and sends their acks, then closes every connection with
   * `CloseCode.GoingAway` and drops all rooms (what arrived after the flush
   * is stored too, unacked: its sender resends it elsewhere). Storage stays
   * open (its owner closes it).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const dialer of this.#dialers.values()) dialer.stop();
    this.#dialers.clear();
    // Flush before closing: closed sessions drop the acks of commits that finish
    // later. Yield first so frames already waiting on the sockets are applied,
    // and flush twice to cover what arrived during the first flush: bounded
    // rounds, because a steady stream of writes never leaves nothing pending.
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await Promise.all([...this.#live].map((room) => this.#flushForClose(room)));
    }
    // Acks go out in a microtask after the commit (InboundAcks); let them leave first.
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const session of [...this.#peerSessions]) {
      session.close(CloseCode.GoingAway, 'relay shutting down');
    }
    for (const session of [...this.#sessions]) {
      session.close(CloseCode.GoingAway, 'relay shutting down');
    }
    await Promise.all([...this.#live].map((room) => room.unload(false)));
    this.#rooms.clear();
    this.#staleRooms.clear();
    await this.#indexReady;
    await this.#writeFingerprints();
    if (!this.#indexLoaded || this.#fpWriteFailed || this.#fpDirty.size > 0) return;
    try {
      await markCleanShutdown(this.#storage);
    } catch (err) {
      // The next start rebuilds every record: slower, never wrong.
      this.#log('relay.clean_shutdown_mark_failed', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async #flushForClose(room: Room): Promise<void> {
    try {
      await room.flush();
    } catch (err) {
      // Still queued in the room: unloading retries it once more.
      this.#log('relay.close_flush_failed', {
        doc: room.name,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  #track(session: Session): ConnectionHandler {
    if (!session.isClosed) this.#sessions.add(session);
    return session;
  }

  async #join(docName: string, member: RoomMember): Promise<Room> {
    for (;;) {
      if (this.#closing !== null) throw new Error('relay is shutting down');
      const room = this.#room(docName);
      if (!room.isOpen) await room.load();
      // Between the load and this line only microtasks ran, but an idle unload
      // could have started before we first looked: then take the next incarnation.
      if (room.isOpen) {
        room.join(member);
        return room;
      }
    }
  }

  #room(docName: string): Room {
    const current = this.#rooms.get(docName);
    if (current?.isUsable) return current;
    const room: Room = new Room(docName, {
      storage: this.#storage,
      commitWindowMs: this.#commitWindowMs,
      idleUnloadMs: this.#idleUnloadMs,
      compactAfterUpdates: this.#compactAfterUpdates,
      compactionGate: this.#compactionGate,
      log: this.#log,
      // A superseded incarnation may still be writing; load only after it is done
      // (and, at start-up, after the last run's clean-shutdown marker is gone).
      after:
        current === undefined
          ? this.#markerTaken
          : Promise.all([this.#markerTaken, current.unload(true)]).then(() => undefined),
      onUpdate: (r, update, origin, echo) => this.#pushToPeers(r.name, update, origin, echo),
      onDurable: (r, fingerprint, stateVector) =>
        this.#durableState(r.name, fingerprint, stateVector),
      onDurableChanged: (r) => {
        this.#staleRooms.add(r);
      },
      durableVector: () => this.#index.get(docName)?.stateVector,
      onUnloaded: (done) => {
        this.#live.delete(done);
        this.#staleRooms.delete(done);
        if (this.#rooms.get(docName) === done) this.#rooms.delete(docName);
      },
    });
    this.#rooms.set(docName, room);
    this.#live.add(room);
    return room;
  }

  // ---- gossip: peer links, push, anti-entropy, cluster acks ----

  /** Dials a peer and keeps the link up: reconnects with full-jitter backoff (base 250 ms, cap 10 s) until removed. */
  addPeer(url: string, transportFactory: TransportFactory): void {
    if (typeof url !== 'string' || url === '') {
      throw new TypeError('RelayCore.addPeer: url must be a non-empty string');
    }
    if (typeof transportFactory !== 'function') {
      throw new TypeError('RelayCore.addPeer: transportFactory must be a function');
    }
    if (this.#closing !== null) throw new Error('RelayCore.addPeer: relay is shutting down');
    if (this.#dialers.has(url)) return;
    const dialer = new PeerDialer(url, transportFactory, {
      log: this.#log,
      random: this.#random,
      backoff: PEER_BACKOFF,
      connectTimeoutMs: this.#peerCtx.handshakeTimeoutMs,
      startSession: (conn, d) => {
        const session = new PeerSession(conn, this.#peerCtx, 'outbound');
        this.#peerSessions.add(session);
        this.#dialerOf.set(session, d);
        return session;
      },
      hasLinkTo: (relayId) => this.#hasLinkTo(relayId),
    });
    this.#dialers.set(url, dialer);
    dialer.start();
  }

  /** Stops dialing `url` and closes that link (a no-op for an unknown url). */
  removePeer(url: string): void {
    const dialer = this.#dialers.get(url);
    if (dialer === undefined) return;
    this.#dialers.delete(url);
    dialer.stop();
  }

  /** This relay, its peers, their link states, lag and the last anti-entropy rounds. */
  clusterInfo(): ClusterInfo {
    const peers: PeerInfo[] = [];
    const listed = new Set<string>();
    const openTo = new Map<string, PeerSession>();
    for (const session of this.#peerSessions) {
      if (session.isOpen && session.peerRelayId !== null) openTo.set(session.peerRelayId, session);
    }
    for (const dialer of this.#dialers.values()) {
      const relayId = dialer.relayId;
      const live = relayId === null ? undefined : openTo.get(relayId);
      const state = relayId === null ? undefined : this.#peers.get(relayId);
      if (relayId !== null) listed.add(relayId);
      peers.push({
        url: dialer.url,
        publicUrl: live?.peerUrl ?? state?.publicUrl ?? null,
        relayId,
        // A dialer that lost the duplicate race is served by the peer's link.
        direction: live?.direction ?? 'outbound',
        state: live !== undefined ? 'connected' : dialer.state,
        ...this.#peerNumbers(state),
      });
    }
    for (const state of this.#peers.values()) {
      if (listed.has(state.relayId)) continue;
      const live = openTo.get(state.relayId);
      peers.push({
        url: live?.peerUrl ?? state.url,
        publicUrl: live?.peerUrl ?? state.publicUrl,
        relayId: state.relayId,
        direction: live?.direction ?? state.direction,
        state: live !== undefined ? 'connected' : 'down',
        ...this.#peerNumbers(state),
      });
    }
    let last: number | null = null;
    for (const state of this.#peers.values()) {
      if (state.lastAntiEntropyAt !== null && (last === null || state.lastAntiEntropyAt > last)) {
        last = state.lastAntiEntropyAt;
      }
    }
    return { relayId: this.relayId, url: this.#publicUrl, peers, lastAntiEntropyAt: last };
  }

  /** Resolves once the fingerprint index covers every stored doc (tests, tools). */
  whenIndexed(): Promise<void> {
    return this.#indexReady;
  }

  /** The digest this relay would send now (`DIGEST_BUCKETS` × 8 bytes; tests, tools). */
  digest(): Uint8Array {
    this.#refreshIndex();
    return this.#index.digest();
  }

  /**
   * Brings the index up to date with the rooms' durable states before anyone
   * reads it. Rooms report a commit's new state lazily: the fingerprint walks
   * the doc, and nobody reads it between most commits (digests go out on
   * connect and every 30 s). A room with a commit pending or in flight keeps
   * its last durable entry until a later commit leaves nothing pending.
   */
  #refreshIndex(): void {
    for (const room of this.#staleRooms) {
      if (room.reportDurable() || !room.isUsable) this.#staleRooms.delete(room);
    }
  }

  readonly #dialerOf = new WeakMap<PeerSession, PeerDialer>();

  #peerNumbers(
    state: PeerState | undefined,
  ): Pick<PeerInfo, 'lagOps' | 'lastAntiEntropyAt' | 'lastAntiEntropyBytes'> {
    if (state === undefined) {
      return { lagOps: null, lastAntiEntropyAt: null, lastAntiEntropyBytes: null };
    }
    let lagOps: number | null = null;
    if (state.compared) {
      this.#refreshIndex();
      lagOps = 0;
      for (const [docName, doc] of this.#index.entries()) {
        lagOps += opsAhead(doc.sv, state.acked.get(docName));
      }
    }
    return {
      lagOps,
      lastAntiEntropyAt: state.lastAntiEntropyAt,
      lastAntiEntropyBytes: state.lastAntiEntropyBytes,
    };
  }

  #hasLinkTo(relayId: string): boolean {
    for (const session of this.#peerSessions) {
      if (session.isOpen && session.peerRelayId === relayId) return true;
    }
    return false;
  }

  #acceptPeer(conn: RelayConnection, hello: HelloInfo, ended: () => void): ConnectionHandler {
    const session = new PeerSession(conn, this.#peerCtx, 'inbound', { hello, onEnded: ended });
    this.#peerSessions.add(session);
    return session;
  }

  #makePeerContext(
    handshakeTimeoutMs: number,
    heartbeatIntervalMs: number,
    heartbeatTimeoutMs: number,
    peerProof: PeerProof | undefined,
  ): PeerContext {
    const index = this.#index;
    const refresh = () => this.#refreshIndex();
    return {
      relayId: this.relayId,
      peerProof,
      publicUrl: this.#publicUrl,
      handshakeTimeoutMs,
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      antiEntropyIntervalMs: this.#antiEntropyIntervalMs,
      log: this.#log,
      // Peer sessions read the index for digests: it must be current then.
      get index() {
        refresh();
        return index;
      },
      whenIndexed: () => this.#indexReady,
      join: (docName, member) => this.#join(docName, member),
      stateVector: (docName) => this.#stateVector(docName),
      registerMember: (member, session) => this.#peerMembers.set(member, session),
      identified: (session, relayId) => {
        const dialer = this.#dialerOf.get(session);
        // A check that ends after the dialer moved on to a newer link says nothing of it.
        if (dialer !== undefined && (dialer.session === session || dialer.session === null)) {
          dialer.relayId = relayId;
        }
      },
      opened: (session) => this.#peerOpened(session),
      ended: (session) => this.#peerEnded(session),
      peerHolds: (session, docName, sv) => this.#peerHolds(session, docName, sv),
      digestCompared: (session, differing) => this.#digestCompared(session, differing),
      antiEntropyDone: (session, bytes) => {
        const state = this.#peerState(session);
        if (state === undefined) return;
        state.lastAntiEntropyAt = Date.now();
        state.lastAntiEntropyBytes = bytes;
        this.#log('peer.anti_entropy_done', { peer: state.relayId, ...bytes });
      },
    };
  }

  #stateVector(docName: string): Uint8Array {
    const room = this.#rooms.get(docName);
    if (room?.isOpen) return room.stateVector();
    return this.#index.get(docName)?.stateVector ?? new Uint8Array([0]);
  }

  #peerState(session: PeerSession): PeerState | undefined {
    const relayId = session.peerRelayId;
    return relayId === null ? undefined : this.#peers.get(relayId);
  }

  /**
   * A peer handshake completed. One link per pair of relays: when both dialed,
   * the link dialed by the smaller relay id wins (both sides agree without
   * talking); among two links in the same direction the newer inbound one
   * wins (the old one is most likely half-open) and the older outbound one.
   */
  #peerOpened(session: PeerSession): boolean {
    const relayId = session.peerRelayId!;
    const dialer = this.#dialerOf.get(session);
    if (dialer !== undefined) dialer.relayId = relayId;
    for (const other of this.#peerSessions) {
      if (other === session || !other.isOpen || other.peerRelayId !== relayId) continue;
      let loser: PeerSession;
      if (other.direction !== session.direction) {
        const winnerDirection: PeerDirection = this.relayId < relayId ? 'outbound' : 'inbound';
        loser = session.direction === winnerDirection ? other : session;
      } else {
        loser = session.direction === 'inbound' ? other : session;
      }
      loser.close(CloseCode.DuplicatePeer, 'duplicate peer link');
      if (loser === session) return false;
    }
    dialer?.connected();
    let state = this.#peers.get(relayId);
    if (state === undefined) {
      state = {
        relayId,
        url: null,
        publicUrl: null,
        direction: session.direction,
        acked: new Map(),
        ackedEncoded: new Map(),
        compared: false,
        lastAntiEntropyAt: null,
        lastAntiEntropyBytes: null,
      };
      this.#peers.set(relayId, state);
    }
    state.direction = session.direction;
    state.url = dialer?.url ?? session.peerUrl ?? state.url;
    state.publicUrl = session.peerUrl ?? state.publicUrl;
    return true;
  }

  #peerEnded(session: PeerSession): void {
    this.#peerSessions.delete(session);
    const relayId = session.peerRelayId;
    if (relayId === null || session.closeCode === CloseCode.DuplicatePeer) return;
    for (const dialer of this.#dialers.values()) {
      if (dialer.relayId === relayId) dialer.linkEnded();
    }
  }

  #pushToPeers(docName: string, update: Uint8Array, origin: unknown, echo: boolean): void {
    if (this.#peerSessions.size === 0) return;
    const from =
      typeof origin === 'object' && origin !== null ? this.#peerMembers.get(origin) : undefined;
    for (const session of this.#peerSessions) {
      if (!session.isOpen || (session === from && !echo)) continue;
      session.push(docName, update);
    }
  }

  #peerHolds(session: PeerSession, docName: string, stateVector: Uint8Array): void {
    const state = this.#peerState(session);
    if (state === undefined) return;
    const sv = decodeSv(stateVector);
    let known = state.acked.get(docName);
    if (known === undefined) {
      known = new Map();
      state.acked.set(docName, known);
    }
    mergeSv(known, sv);
    const encoded = Y.encodeStateVector(known);
    state.ackedEncoded.set(docName, encoded);
    const room = this.#rooms.get(docName);
    if (room?.isOpen) room.clusterAck(state.relayId, encoded);
  }

  /** Docs in buckets whose hashes matched hold what this relay holds (for lag and cluster acks). */
  #digestCompared(session: PeerSession, differing: readonly number[]): void {
    const state = this.#peerState(session);
    if (state === undefined) return;
    state.compared = true;
    this.#refreshIndex();
    const skip = new Set(differing);
    for (const [docName, doc] of this.#index.entries()) {
      if (skip.has(bucketOf(docName))) continue;
      const known = state.acked.get(docName);
      if (known !== undefined && opsAhead(doc.sv, known) === 0) continue;
      this.#peerHolds(session, docName, doc.stateVector);
    }
  }

  #clusterAcks(docName: string): Array<[string, Uint8Array]> {
    const out: Array<[string, Uint8Array]> = [];
    for (const state of this.#peers.values()) {
      const sv = state.ackedEncoded.get(docName);
      if (sv !== undefined) out.push([state.relayId, sv]);
    }
    return out;
  }

  #durableState(docName: string, fingerprint: Uint8Array, stateVector: Uint8Array): void {
    const existing = this.#index.get(docName);
    if (this.#index.set(docName, fingerprint, stateVector) || existing === undefined) {
      if (this.#index.has(docName) || existing !== undefined) {
        this.#fpDirty.set(docName, encodeRecord(fingerprint, stateVector));
        void this.#writeFingerprints();
      }
    }
  }

  /** Writes fingerprint records one at a time, latest value per doc; failures only cost a rebuild. */
  async #writeFingerprints(): Promise<void> {
    if (this.#fpWriting) return;
    this.#fpWriting = true;
    try {
      while (this.#fpDirty.size > 0) {
        const [docName, record] = this.#fpDirty.entries().next().value as [string, Uint8Array];
        this.#fpDirty.delete(docName);
        try {
          await this.#storage.setMeta(fingerprintKey(docName), record);
        } catch (err) {
          this.#fpWriteFailed = true;
          this.#log('relay.fingerprint_write_failed', {
            doc: docName,
            error: err instanceof Error ? err.message : String(err),
          });
        }
      }
    } finally {
      this.#fpWriting = false;
    }
  }
}

function refuse(conn: RelayConnection): ConnectionHandler {
  conn.close(CloseCode.GoingAway, 'relay shutting down');
  return { receive: () => {}, closed: () => {} };
}
