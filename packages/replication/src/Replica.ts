import * as decoding from 'lib0/decoding';
import * as random from 'lib0/random';
import {
  Awareness,
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from 'y-protocols/awareness';
import * as Y from 'yjs';
import { type BackoffOptions, checkBackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import {
  type DeleteRanges,
  type DocSummary,
  decodeSummary,
  deletesCover,
  deletesOf,
  EMPTY_SUMMARY,
  encodeSummary,
  isEmptySummary,
  summaryOfUpdate,
  vectorCovers,
  withDeletes,
} from './docSummary.ts';
import type { FrontLink, LinkState } from './frontLink.ts';
import {
  addToLocalBatch,
  encodeLocalBatch,
  type LocalBatch,
  startLocalBatch,
  withLocalBatch,
} from './localBatch.ts';
import type {
  DocChangeListener,
  DocHandle,
  DocSource,
  StorageAdapter,
  SyncState,
  SyncStatus,
  TransportFactory,
} from './ports.ts';
import {
  DocErrorCode,
  type DocMessage,
  decodeFrame,
  decodeYMessage,
  encodeAwarenessMessage,
  encodeDocs,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  FrameType,
  type HelloAccess,
  isEmptyUpdate,
  isValidDocName,
  ProtocolError,
  SyncStep,
  splitDocMessages,
  YMessageType,
} from './protocol.ts';
import { RelayLink } from './RelayLink.ts';
import type {
  AccessProblem,
  DocReplicationInfo,
  RelayEndpoint,
  RelayInfo,
  ReplicaAccess,
  ReplicationInfo,
  StateVectorEntry,
} from './replicationInfo.ts';
import {
  type PresentedDoc,
  SESSION_META_PREFIX,
  SessionGuarantees,
} from './session/SessionGuarantees.ts';
import { transactionChanged } from './transactionChanged.ts';
import { BroadcastChannelLink } from './transport/BroadcastChannelLink.ts';
import { WebSocketTransport } from './transport/WebSocketTransport.ts';
import { YWebsocketLink } from './YWebsocketLink.ts';

/** A doc's storage queue when nothing is queued on it (`DocEntry.queue`). */
const IDLE_QUEUE: Promise<void> = Promise.resolve();

/** Transaction / awareness origins, so each handler knows where a change came from. */
const RELAY = Symbol('lattice:relay');
const TABS = Symbol('lattice:tabs');
const LOAD = Symbol('lattice:load');

/** What `tr` changed in `doc`, as an update (with the doc's whole delete set: a rare path). */
function changedSince(doc: Y.Doc, tr: Y.Transaction): Uint8Array {
  return Y.encodeStateAsUpdate(doc, Y.encodeStateVector(tr.beforeState));
}

/** Liveness defaults (see `ReplicaOptions.heartbeatIntervalMs`). */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 2500;
/** A doc's stored log is re-encoded as one snapshot once it holds more updates than this. */
const COMPACT_AFTER_UPDATES = 200;
/** Meta key prefix of the durable "not yet acked by a relay" marker (docs/ARCHITECTURE.md). */
const DIRTY_PREFIX = 'dirty:';
const MARKER = new Uint8Array([1]);
/** State vector of an empty doc: asks for everything. */
const EMPTY_STATE_VECTOR = new Uint8Array([0]);
/** An update that changes nothing: a read-only replica's sync step 2, which the relay acks without storing anything. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

export interface ReplicaOptions {
  storage: StorageAdapter;
  /**
   * Relays, first preferred; failures rotate through the list. A string is a
   * Lattice multiplexed endpoint (`'ws://127.0.0.1:8080/sync'`, same as
   * `{ url, protocol: 'lattice' }`); `{ url: 'ws://host:1234', protocol:
   * 'y-websocket' }` is a plain y-websocket server (one socket per doc at
   * `${url}/${docName}`, no acks: see docs/ARCHITECTURE.md). One replica
   * speaks one protocol: the list must not mix them. Empty = local only.
   */
  relays: Array<string | RelayEndpoint>;
  /** Makes the transport for each connection attempt (and each y-websocket doc socket); default `url => new WebSocketTransport(url)`. */
  transportFactory?: TransportFactory;
  /** Wall clock for `lastSyncAt`, `lastAckAt` (ms epoch); default `Date.now`. */
  now?: () => number;
  /** y-websocket relays only: doc sockets kept open at once for docs that are synced but not open (default 4). */
  maxBackgroundSockets?: number;
  /**
   * Background docs (tracked, not open, nothing of ours to send) whose initial
   * exchange may be in flight at once; the rest wait in a queue (default 512).
   * Subscribing a whole workspace in one burst put an opened note's storage
   * read and sync behind thousands of background answers (bench `coldload`).
   */
  maxBackgroundInFlight?: number;
  /**
   * Name of a BroadcastChannel shared by tabs of this workspace; omit to
   * disable. Replicas on one channel must share one storage (one IndexedDB
   * database): a tab stores its own changes and others only re-read them.
   */
  broadcastChannel?: string;
  /**
   * How often the relay is probed; default 1000. With the 2500 ms timeout a
   * silent (half-open) link is noticed 1.5–2.5 s after it went dark, inside
   * the 3 s target of bench `heal` (was 2000 / 5000: 3.0–5.0 s); the cost is
   * one ~6-byte frame per second each way per connection.
   */
  heartbeatIntervalMs?: number;
  /** A link silent for this long is replaced; default 2500. */
  heartbeatTimeoutMs?: number;
  /** Reconnect backoff with full jitter; default 250 / 10000 ms. */
  backoff?: BackoffOptions;
  /** Jitter source (seeded in tests); default `Math.random`. */
  random?: () => number;
  /** Y.Doc clientID source for docs this replica creates (seeded in the simulation); default random. */
  newClientId?: () => number;
  /** Receives errors that have no caller to reject (storage failures, bad frames); default `console.warn`. */
  onError?: (error: Error) => void;
}

interface LiveDoc {
  doc: Y.Doc;
  awareness: Awareness;
  loaded: Promise<void>;
  isLoaded: boolean;
  /** Awareness clients learned from the relay, dropped when the link goes down. */
  relayClients: Set<number>;
  /** How the session-guarantees module sees this doc (`current`). */
  session: PresentedDoc;
  /** Applies an update from storage, the relay or another tab (see `#makeLive`). */
  applyForeign(update: Uint8Array, origin: typeof LOAD | typeof RELAY | typeof TABS): void;
  dispose(): void;
}

/** A state vector as a map, merged by max per client. */
type VectorMap = Map<number, number>;

/** Everything the replica knows about one doc name. */
interface DocEntry {
  readonly name: string;
  tracked: boolean;
  refs: number;
  live: LiveDoc | null;
  /** Holds changes no relay acknowledged (mirrors the durable marker). */
  dirty: boolean;
  /** Whether the durable marker exists once every queued storage op has run. */
  markerQueued: boolean;
  /** Sequence number whose ack clears `dirty`, on the current connection. */
  awaitSeq: number | null;
  /** Sync messages (Step1, Step2, Update) numbered for this doc on connection `seqEpoch` (the relay counts per connection, across Leave). */
  sentSeq: number;
  /** Highest number acked on connection `seqEpoch`. */
  ackedSeq: number;
  seqEpoch: number;
  /** Per relay (`relayKey`: its id, else its URL): the merged state vector it acked for this doc. */
  acked: Map<string, VectorMap>;
  /**
   * What every relay must cover to hold this doc's changes from here: the
   * state vector announced at each subscription, plus each local write's
   * clock. Remote updates received later do not raise it (null: never
   * subscribed nor written since start).
   */
  holdMark: VectorMap | null;
  /** Local updates buffered or being written to storage, not yet durable there. */
  unsaved: number;
  /** Last computed state vector of the stored state (background docs), kept across invalidation. */
  knownVector: VectorMap | null;
  /** Link epoch in which this doc was subscribed (0: none). */
  subEpoch: number;
  /**
   * Number of our `SyncStep2` of the current subscription (0: not sent yet).
   * Everything older than it travels in it, so until then a live update's
   * ack cannot clear `dirty` (older changes, e.g. made offline, are unsent).
   */
  reconciledSeq: number;
  /** The relay's `SyncStep2` of the current subscription was applied and stored. */
  relayStep2Done: boolean;
  /** Initial exchange complete: both step 2s are through and ours is acked (the relay holds what we hold). */
  initialDone: boolean;
  refused: string | null;
  /** Storage ops of this doc run one after another, in order. */
  queue: Promise<void>;
  appendBuffer: Uint8Array[];
  /** Local updates in `appendBuffer`, told to other tabs once stored. */
  tabBuffer: Uint8Array[];
  /** The transactions of `tabBuffer` (null: untracked), stored as one update when it encodes. */
  appendLocal: LocalBatch | null;
  /** Cached state vector of the stored state (background docs). */
  stateVector: Uint8Array | null;
  storedCount: number | null;
  /** Bytes appended to the stored log since it was last loaded or compacted. */
  logBytes: number;
  /** Size of the snapshot the last compaction wrote (0: none since start). */
  snapshotBytes: number;
  forgotten: boolean;
  /** The local `Update` message queued on the link and not yet encoded: later local updates join it. */
  openSend: OpenSend | null;
  /** Whether `summary` was determined (from the start-up read, a load, or an append). */
  summaryKnown: boolean;
  /** Exact summary of the stored state (null: unknown, read the doc to learn it). */
  summary: DocSummary | null;
  /** The summary announced in this subscription's `SyncStep1` (null: none, or voided since). */
  subSummary: DocSummary | null;
  /** Delete set of the relay's `SyncStep2` of this subscription, when it carried no structs. */
  relayDeletes: DeleteRanges | null;
}

/**
 * Local updates of one tick, sent as one numbered `Update` (their
 * `Y.mergeUpdates`): a burst of keystrokes costs the relay one apply, one
 * commit entry, one ack and one forwarded message instead of one each.
 */
interface OpenSend {
  epoch: number;
  seq: number;
  updates: Uint8Array[];
  /** The same transactions, for encoding them from the live doc. */
  local: LocalBatch;
  /** The link read the message (encoded it into a frame): later updates need a new one. */
  sealed: boolean;
}

/**
 * The front end of a workspace: keeps any number of docs synced with a relay
 * over one multiplexed socket and with other tabs over a BroadcastChannel,
 * stores them locally (open docs live as `Y.Doc`s, tracked docs only as
 * stored updates) and reports what is still only on this device.
 */
export class Replica implements DocSource {
  #storage: StorageAdapter;
  #link: FrontLink | null = null;
  #endpoints: RelayEndpoint[];
  #now: () => number;
  /** Per relay URL: what it told us (relay id, last ack, round trip). */
  #relayStats = new Map<
    string,
    { relayId: string | null; lastAckAt: number | null; rttMs: number | null }
  >();
  /** Every relay id heard of: in a relay's `Hello` or in a `ClusterAck`. */
  #relaysHeard = new Set<string>();
  /** Makes the link for a relay list (kept so `setRelays` can start one on a local-only replica). */
  #makeLink: (endpoints: RelayEndpoint[]) => FrontLink;
  #lastSyncAt: number | null = null;
  /** Bumped whenever something in `replicationInfo()` changed, so `onStatus` fires. */
  #infoVersion = 0;
  #unsavedDocs = new Set<string>();
  #ackedWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #tabs: BroadcastChannelLink | null = null;
  #onError: (error: Error) => void;
  #session: SessionGuarantees;
  #newClientId: (() => number) | undefined;
  #entries = new Map<string, DocEntry>();
  #dirtyDocs = new Set<string>();
  #subscribed = new Set<string>();
  #awaitingInitial = new Set<string>();
  #changeListeners = new Set<DocChangeListener>();
  #statusListeners = new Set<(status: SyncStatus) => void>();
  #docStatusListeners = new Set<(docName: string, status: SyncStatus) => void>();
  /** Last status told to doc-status listeners, by doc name. */
  #docStatusSeen = new Map<string, string>();
  #syncedWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #lastEmitted = '';
  #notifyQueued = false;
  #scanned = false;
  #destroyed = false;
  #removeOnlineListener: (() => void) | null = null;
  #access: ReplicaAccess = { role: null, problem: null, reason: '' };
  #accessListeners = new Set<(access: ReplicaAccess) => void>();
  /** Storage keeps per-doc summaries (`StorageAdapter.putSummary`). */
  #summarize: boolean;
  /** Docs with a durable "not acked" marker at start-up (null: not read, or per-doc reads). */
  #startupDirty: Promise<Set<string> | null>;
  /** What `#startupDirty` resolved to, once it has (undefined before, or when unreadable). */
  #dirty0: Set<string> | undefined = undefined;
  /** Stored doc names and summaries at start-up, read once; consumed per doc. */
  #startupStored: Promise<void>;
  #stored0: { names: Set<string>; summaries: Map<string, Uint8Array> } | null = null;
  /** Docs whose start-up summary no longer holds (another tab wrote them, or forgotten). */
  #summaryStale = new Set<string>();
  /** Open `holdBackground` holds: while any is open, background docs wait to subscribe. */
  #backgroundHolds = 0;
  /** Background docs waiting to subscribe: held by `holdBackground`, or paced (names, in order). */
  #deferred = new Set<string>();
  /** Background docs subscribed and whose initial exchange is not done yet (at most `#backgroundCap`). */
  #inFlight = new Set<string>();
  #backgroundCap: number;
  #pumpTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: ReplicaOptions) {
    if (!options?.storage) throw new TypeError('Replica needs a storage adapter');
    this.#endpoints = relayEndpoints(options.relays);
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError('now must be a function returning ms since the epoch');
    }
    this.#now = options.now ?? Date.now;
    const cap = options.maxBackgroundInFlight ?? 512;
    if (!Number.isInteger(cap) || cap < 1) {
      throw new TypeError('maxBackgroundInFlight must be a positive integer');
    }
    this.#backgroundCap = cap;
    for (const { url } of this.#endpoints) {
      this.#relayStats.set(url, { relayId: null, lastAckAt: null, rttMs: null });
    }
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    checkBackoffOptions(backoff);
    this.#storage = options.storage;
    this.#summarize =
      typeof options.storage.putSummary === 'function' &&
      typeof options.storage.loadSummaries === 'function';
    this.#onError = options.onError ?? ((error) => console.warn('[lattice replica]', error));
    this.#session = new SessionGuarantees({
      storage: this.#storage,
      // Through the doc's storage queue: a record is stored after the updates it names.
      schedule: (docName, op) => {
        const entry = this.#entries.get(docName);
        if (entry && !entry.forgotten) this.#spawn(entry, op);
        else op().catch((err) => this.#onError(asError(err)));
      },
      onChange: () => this.#infoChanged(),
      onError: (error) => this.#onError(error),
    });
    if (options.newClientId !== undefined && typeof options.newClientId !== 'function') {
      throw new TypeError('newClientId must be a function');
    }
    this.#newClientId = options.newClientId;

    {
      const common = {
        transportFactory: options.transportFactory ?? ((url) => new WebSocketTransport(url)),
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
        backoff,
        random: options.random ?? Math.random,
        onState: (state: LinkState) => this.#onLinkState(state),
        onReady: () => this.#onLinkReady(),
        onDocs: (messages: DocMessage[]) => this.#onRelayDocs(messages),
        onAck: (docName: string, seq: number, stateVector: Uint8Array) =>
          this.#onAck(docName, seq, stateVector),
        onDocError: (docName: string, code: DocErrorCode, reason: string) =>
          this.#onDocError(docName, code, reason),
        onClusterAck: (docName: string, relayId: string, stateVector: Uint8Array) =>
          this.#onClusterAck(docName, relayId, stateVector),
        onError: (error: Error) => this.#onError(error),
        onInfo: () => this.#onLinkInfo(),
        onAccess: (role: HelloAccess | null) =>
          this.#setAccess({ role, problem: null, reason: '' }),
        onDenied: (problem: AccessProblem, reason: string) => this.#deny(problem, reason),
        onDocLost: (docName: string) => this.#onDocLost(docName),
        onProbe: (docName: string, newSocket: boolean) => this.#onProbe(docName, newSocket),
      };
      const clientId = random.uuidv4();
      this.#makeLink = (endpoints) => {
        const urls = endpoints.map((e) => e.url);
        return endpoints[0]?.protocol === 'y-websocket'
          ? new YWebsocketLink({
              ...common,
              urls,
              maxBackgroundSockets: options.maxBackgroundSockets ?? 4,
            })
          : new RelayLink({ ...common, urls, clientId });
      };
    }
    if (this.#endpoints.length > 0) this.#link = this.#makeLink(this.#endpoints);
    if (options.broadcastChannel !== undefined) {
      this.#tabs = new BroadcastChannelLink(options.broadcastChannel);
      this.#tabs.onFrame = (frame) => this.#onTabFrame(frame);
    }
    const target = globalThis as { addEventListener?: EventTarget['addEventListener'] } & {
      removeEventListener?: EventTarget['removeEventListener'];
    };
    if (typeof target.addEventListener === 'function') {
      // Harmless without a link (`reconnect` does nothing), and ready for one from `setRelays`.
      const onOnline = () => this.reconnect();
      target.addEventListener('online', onOnline);
      this.#removeOnlineListener = () => target.removeEventListener?.('online', onOnline);
    }
    // One read each for every doc's dirty marker and summary, instead of a
    // read (and a merge of the whole doc) per doc (bench `coldload`).
    this.#startupDirty = this.#readStartupDirty();
    this.#startupStored = this.#readStartupStored();
    this.#scanDirty().catch((err) => this.#onError(asError(err)));
    this.#link?.start();
  }

  // ---- DocSource ----

  async open(docName: string): Promise<DocHandle> {
    this.#checkAlive();
    const entry = this.#entry(docName);
    entry.refs++;
    if (!entry.live) entry.live = this.#makeLive(entry);
    const live = entry.live;
    this.#sync(entry);
    let released = false;
    const handle: DocHandle = {
      docName,
      doc: live.doc,
      awareness: live.awareness,
      whenLoaded: live.loaded,
      get current() {
        return live.session.current;
      },
      onCurrentChange: (listener) => live.session.onCurrentChange(listener),
      release: () => {
        if (released) return;
        released = true;
        this.#release(entry, live);
      },
    };
    try {
      await live.loaded;
    } catch (err) {
      handle.release();
      throw err;
    }
    return handle;
  }

  track(docName: string): void {
    this.#checkAlive();
    const entry = this.#entry(docName);
    entry.tracked = true;
    this.#sync(entry);
  }

  untrack(docName: string): void {
    const entry = this.#entries.get(docName);
    if (!entry || this.#destroyed) return;
    entry.tracked = false;
    this.#sync(entry);
  }

  async forget(docName: string): Promise<void> {
    this.#checkAlive();
    checkDocName(docName);
    const entry = this.#entry(docName);
    if (entry.live) {
      this.#disposeLive(entry.live);
      entry.live = null;
    }
    entry.forgotten = true;
    entry.tracked = false;
    entry.refs = 0;
    this.#summaryStale.add(docName);
    this.#setClean(entry);
    entry.markerQueued = false;
    this.#sync(entry);
    try {
      await this.#run(entry, async () => {
        await this.#storage.delete(docName);
        await this.#storage.setMeta(DIRTY_PREFIX + docName, undefined);
        await this.#session.forget(docName);
      });
    } finally {
      if (this.#entries.get(docName) === entry) this.#entries.delete(docName);
      this.#notify();
    }
  }

  async readStored(docName: string): Promise<Uint8Array> {
    this.#checkAlive();
    checkDocName(docName);
    const entry = this.#entries.get(docName);
    // Through the doc's queue, so changes already reported are included.
    const stored = entry
      ? await this.#run(entry, async () => {
          // Summaries are exact: an empty one means nothing is stored. A fresh
          // device's notes index asks for every note as its entry arrives, before
          // the note does; each read held the doc's queue (bench `coldload`).
          const summary = this.#knownSummary(entry);
          if (summary !== null && isEmptySummary(summary)) return { updates: [], cursor: 0 };
          return this.#storage.load(docName);
        })
      : await this.#storage.load(docName);
    return Y.mergeUpdates(stored.updates);
  }

  onDocChanged(listener: DocChangeListener): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#storage.getMeta(key);
  }

  async setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    for (const reserved of [DIRTY_PREFIX, SESSION_META_PREFIX]) {
      if (typeof key === 'string' && key.startsWith(reserved)) {
        throw new Error(`meta keys starting with "${reserved}" are reserved by the replica`);
      }
    }
    await this.#storage.setMeta(key, value);
  }

  // ---- session guarantees (docs/ARCHITECTURE.md) ----

  /**
   * A URL-safe token carrying what this session has read and written of
   * `docNames` (e.g. in a share link): a device that imports it never shows
   * those docs as current while they are behind it.
   */
  exportSession(docNames: readonly string[]): Promise<string> {
    return this.#session.exportToken(docNames);
  }

  /**
   * Adds a token's records to this session (before opening the docs it names).
   * Throws a clear error, changing nothing, for a malformed token.
   */
  importSession(token: string): void {
    this.#checkAlive();
    this.#session.importToken(token);
  }

  /**
   * Forgets what this session read and wrote of `docName`, so that what is
   * shown becomes current: the way out when the missing state is gone for good.
   */
  resetSession(docName: string): Promise<void> {
    this.#checkAlive();
    return this.#session.reset(docName);
  }

  // ---- status ----

  /** Status of the whole workspace. */
  get status(): SyncStatus {
    return { state: this.#workspaceState(), pendingLocal: this.#dirtyDocs.size > 0 };
  }

  /** Called when the workspace status or `progress` changed (coalesced per microtask). */
  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /**
   * Called with a doc's new status whenever it changes (coalesced per
   * microtask). Costs a pass over known docs per change while anyone listens.
   */
  onDocStatus(listener: (docName: string, status: SyncStatus) => void): () => void {
    this.#docStatusListeners.add(listener);
    return () => {
      this.#docStatusListeners.delete(listener);
      if (this.#docStatusListeners.size === 0) this.#docStatusSeen.clear();
    };
  }

  /** Status of one doc; a doc neither open, tracked nor pending reports `offline`. */
  docStatus(docName: string): SyncStatus {
    const entry = this.#entries.get(docName);
    if (!entry || !needed(entry)) return { state: 'offline', pendingLocal: false };
    const pendingLocal = entry.dirty;
    const linkState = this.#link?.state ?? 'offline';
    if (this.#destroyed || linkState === 'offline' || entry.refused !== null) {
      return { state: 'offline', pendingLocal };
    }
    if (linkState === 'connecting') return { state: 'connecting', pendingLocal };
    const synced =
      entry.subEpoch === this.#link?.epoch && entry.initialDone && !entry.dirty && this.#scanned;
    return { state: synced ? 'synced' : 'syncing', pendingLocal };
  }

  /** Initial exchange progress on the current connection: docs done / docs synced. */
  get progress(): { synced: number; total: number } {
    if (this.#link?.state === 'ready') {
      const total = this.#subscribed.size;
      return {
        synced: total - this.#awaitingInitial.size,
        // Docs held back by `holdBackground` are still to sync.
        total: total + this.#deferred.size,
      };
    }
    let total = 0;
    for (const entry of this.#entries.values()) if (needed(entry)) total++;
    return { synced: 0, total };
  }

  /**
   * Resolves once connected, every doc's initial exchange is done and nothing
   * is pending (never, without relays); rejects if the replica is destroyed.
   */
  whenSynced(): Promise<void> {
    if (this.#destroyed) return Promise.reject(new Error('replica destroyed'));
    if (this.#workspaceState() === 'synced') return Promise.resolve();
    return new Promise((resolve, reject) => this.#syncedWaiters.push({ resolve, reject }));
  }

  /**
   * Resolves once `pendingLocal` is false: every local change (including
   * those found in storage from an earlier session) acked by a relay as
   * durable — or, toward a y-websocket server, confirmed delivered. Rejects
   * on `destroy()`.
   */
  whenAcked(): Promise<void> {
    if (this.#destroyed) return Promise.reject(new Error('replica destroyed'));
    if (this.#scanned && this.#dirtyDocs.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#ackedWaiters.push({ resolve, reject }));
  }

  /** A snapshot of what this replica knows about its relays; changes are announced through `onStatus`. */
  replicationInfo(): ReplicationInfo {
    const link = this.#link;
    const relays = this.#endpoints.map((endpoint): RelayInfo => {
      const stats = this.#relayStats.get(endpoint.url);
      let state: RelayInfo['state'] = 'standby';
      if (link && !this.#destroyed && link.endpoint.url === endpoint.url) {
        state =
          link.state === 'ready'
            ? 'connected'
            : link.state === 'connecting'
              ? 'connecting'
              : 'offline';
      } else if (this.#destroyed) {
        state = 'offline';
      }
      return {
        url: endpoint.url,
        protocol: endpoint.protocol,
        relayId: stats?.relayId ?? null,
        state,
        lastAckAt: stats?.lastAckAt ?? null,
        heartbeatRttMs: stats?.rttMs ?? null,
      };
    });
    return {
      relays,
      savedOnDevice: this.#unsavedDocs.size === 0,
      pendingDocs: this.#dirtyDocs.size,
      lastSyncAt: this.#lastSyncAt,
      sessionWarnings: this.#session.warnings(),
      cluster: this.#clusterSummary(),
    };
  }

  /** Known relays as (key, id, url): configured ones in order, then ids heard of only. */
  #knownRelays(): { key: string; relayId: string; relayUrl: string }[] {
    const known: { key: string; relayId: string; relayUrl: string }[] = [];
    const seen = new Set<string>();
    for (const { url } of this.#endpoints) {
      const relayId = this.#relayStats.get(url)?.relayId ?? null;
      const key = relayKey(relayId, url);
      if (seen.has(key)) continue;
      seen.add(key);
      known.push({ key, relayId: relayId ?? '', relayUrl: url });
    }
    for (const relayId of [...this.#relaysHeard].sort()) {
      if (seen.has(relayId)) continue;
      seen.add(relayId);
      // A relay we once connected to by a URL no longer listed: still name the URL.
      let relayUrl = '';
      for (const [url, stats] of this.#relayStats) if (stats.relayId === relayId) relayUrl = url;
      known.push({ key: relayId, relayId, relayUrl });
    }
    return known;
  }

  /** "On N of M relays" (see `ClusterSummary`): one pass over the known docs. */
  #clusterSummary(): { relaysHoldingAll: number; relaysKnown: number } {
    const known = this.#knownRelays();
    const relaysKnown = this.#countKnownRelays();
    if (relaysKnown === 0) return { relaysHoldingAll: 0, relaysKnown: 0 };
    // Before the start-up scan, dirty docs from an earlier session may be unknown.
    if (!this.#scanned) return { relaysHoldingAll: 0, relaysKnown };
    // A local change no ack has cleared may be a deletion, invisible in state vectors: held nowhere yet.
    if (this.#dirtyDocs.size > 0 || this.#unsavedDocs.size > 0) {
      return { relaysHoldingAll: 0, relaysKnown };
    }
    // Only relays that ever acked something can hold anything (a relay never heard from holds nothing we know of).
    const holding = new Set(
      known.filter((r) => r.relayId !== '' || this.#relayStats.get(r.relayUrl)?.lastAckAt != null),
    );
    const keys = new Set([...holding].map((r) => r.key));
    for (const entry of this.#entries.values()) {
      if (entry.forgotten || keys.size === 0) continue;
      const local = entry.holdMark;
      if (local === null || local.size === 0) continue;
      for (const key of keys) {
        if (!covers(entry.acked.get(key), local)) keys.delete(key);
      }
    }
    return { relaysHoldingAll: Math.min(keys.size, relaysKnown), relaysKnown };
  }

  /**
   * Distinct relays: configured relays whose id we know, plus — since a
   * `ClusterAck` names a peer by id only — the larger of (configured relays
   * whose id we have not learned yet) and (ids heard of that match no
   * configured relay): such an id most likely belongs to one of those URLs.
   */
  #countKnownRelays(): number {
    const configuredIds = new Set<string>();
    let unknownConfigured = 0;
    for (const { url } of this.#endpoints) {
      const relayId = this.#relayStats.get(url)?.relayId ?? null;
      if (relayId === null) unknownConfigured++;
      else configuredIds.add(relayId);
    }
    let unmatchedHeard = 0;
    for (const relayId of this.#relaysHeard) if (!configuredIds.has(relayId)) unmatchedHeard++;
    return configuredIds.size + Math.max(unknownConfigured, unmatchedHeard);
  }

  /**
   * Replaces the relay list at run time (e.g. with the cluster a relay
   * announced). The current connection stays if its URL is still listed;
   * otherwise the replica moves to the first listed relay. The list must not
   * be empty and must speak the protocol already in use.
   */
  setRelays(relays: Array<string | RelayEndpoint>): void {
    this.#checkAlive();
    const endpoints = relayEndpoints(relays);
    const first = endpoints[0];
    if (first === undefined) {
      throw new RangeError('setRelays needs at least one relay; destroy() the replica to stop');
    }
    const link = this.#link;
    if (link && link.endpoint.protocol !== first.protocol) {
      throw new TypeError(
        `setRelays cannot switch protocols (${link.endpoint.protocol} → ${first.protocol})`,
      );
    }
    const changed =
      endpoints.length !== this.#endpoints.length ||
      endpoints.some((e, i) => e.url !== this.#endpoints[i]?.url);
    this.#endpoints = endpoints;
    // New URLs carry a new token: whatever the old one was refused for no longer holds.
    if (changed && this.#access.problem !== null) {
      this.#setAccess({ role: this.#access.role, problem: null, reason: '' });
    }
    for (const { url } of endpoints) {
      if (!this.#relayStats.has(url)) {
        this.#relayStats.set(url, { relayId: null, lastAckAt: null, rttMs: null });
      }
    }
    if (link) {
      link.setUrls(endpoints.map((e) => e.url));
    } else {
      this.#link = this.#makeLink(endpoints);
      this.#link.start();
    }
    this.#infoChanged();
  }

  /** A snapshot of one doc: pending, this replica's state vector, and what each relay acked. */
  docReplicationInfo(docName: string): DocReplicationInfo {
    checkDocName(docName);
    const entry = this.#entries.get(docName);
    const local: VectorMap = (entry && localVector(entry)) ?? new Map();
    return {
      docName,
      pendingLocal: entry?.dirty ?? false,
      local: vectorEntries(local),
      acked: this.#knownRelays().map(({ key, relayId, relayUrl }) => ({
        relayId,
        relayUrl,
        stateVector: vectorEntries(entry?.acked.get(key) ?? new Map()),
      })),
    };
  }

  /**
   * What the relays let this replica do: the role from the relay's `Hello`
   * (`read`: local edits stay local and pending, the UI should prevent them)
   * and, once a relay refused the token, the problem. A refused replica stops
   * reconnecting until `setRelays` gets different URLs (a new token).
   */
  get access(): ReplicaAccess {
    return this.#access;
  }

  /** Called with the new `access` whenever it changes; returns the unsubscribe function. */
  onAccessChange(listener: (access: ReplicaAccess) => void): () => void {
    this.#accessListeners.add(listener);
    return () => this.#accessListeners.delete(listener);
  }

  #setAccess(next: ReplicaAccess): void {
    const current = this.#access;
    if (
      current.role === next.role &&
      current.problem === next.problem &&
      current.reason === next.reason
    ) {
      return;
    }
    this.#access = Object.freeze({ ...next });
    for (const listener of [...this.#accessListeners]) listener(this.#access);
  }

  #deny(problem: AccessProblem, reason: string): void {
    this.#onError(new Error(`relay refused access (${problem}): ${reason || 'no reason given'}`));
    this.#setAccess({ role: this.#access.role, problem, reason });
    this.#infoChanged();
  }

  #readOnly(): boolean {
    return this.#access.role === 'read';
  }

  /**
   * Holds back the initial sync of background docs (tracked, not open, with
   * nothing of ours to send) until the returned function is called; open docs
   * and docs with unsent changes sync at once. An app starting up calls this
   * first, so its first screen (the list, the note it opens) is not competing
   * with one sync exchange per doc of the workspace (bench `coldload`). The
   * held docs count as syncing: status and `progress` do not claim them synced.
   */
  holdBackground(): () => void {
    this.#backgroundHolds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#backgroundHolds--;
      if (this.#backgroundHolds > 0 || this.#destroyed) return;
      this.#pump();
    };
  }

  /** Tracked, not open, nothing of ours to send: its sync can wait. */
  #isBackground(entry: DocEntry): boolean {
    return entry.live === null && !entry.dirty && entry.unsaved === 0;
  }

  /**
   * A background doc that takes a pacing slot: one this device already stores.
   * A doc it has never stored (a fresh device's whole workspace) has no
   * returning-device click to protect and costs its full sync a window per
   * round trip (bench `coldload`: 18–24 % of a fresh load at 1,000 / 5,000
   * notes), so it only waits behind a hold or docs queued ahead of it. Unknown
   * until the start-up read is in: paced.
   */
  #takesSlot(entry: DocEntry): boolean {
    if (!this.#isBackground(entry)) return false;
    return this.#knownSummary(entry) !== EMPTY_SUMMARY;
  }

  /** A background doc whose first sync waits: held, or behind the in-flight cap (FIFO). */
  #defers(entry: DocEntry): boolean {
    if (!this.#isBackground(entry)) return false;
    return (
      this.#backgroundHolds > 0 ||
      this.#deferred.size > 0 ||
      (this.#inFlight.size >= this.#backgroundCap && this.#takesSlot(entry))
    );
  }

  /**
   * Subscribes waiting background docs up to the in-flight cap. Open docs and
   * docs with changes to send never wait here (`#sync` subscribes them at
   * once), so an opened note's storage read and sync exchange queue behind
   * at most one window of background answers, not the whole workspace.
   */
  #pump(): void {
    if (this.#pumpTimer !== null) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = null;
    const link = this.#link;
    if (this.#destroyed || this.#backgroundHolds > 0 || link?.state !== 'ready') {
      this.#notify();
      return;
    }
    const batch: DocEntry[] = [];
    // FIFO: a doc that takes no slot still waits while the cap holds a paced doc ahead of it.
    for (const name of this.#deferred) {
      if (this.#inFlight.size >= this.#backgroundCap) break;
      this.#deferred.delete(name);
      const entry = this.#entries.get(name);
      if (!entry || !needed(entry) || entry.subEpoch === link.epoch) continue;
      if (this.#takesSlot(entry)) this.#inFlight.add(name);
      batch.push(entry);
    }
    void this.#subscribe(batch);
    this.#notify();
  }

  /**
   * Pumps on a later task, not in this one: the docs settled by one relay frame
   * leave as one batch, and input events (a click opening a note) run first.
   */
  #schedulePump(): void {
    if (this.#pumpTimer !== null || this.#destroyed || this.#deferred.size === 0) return;
    this.#pumpTimer = setTimeout(() => this.#pump(), 0);
  }

  /** A background doc's initial exchange ended (done, refused, left or lost): its slot frees. */
  #settled(docName: string): void {
    if (this.#inFlight.delete(docName)) this.#schedulePump();
  }

  /** Connect now, skipping the backoff wait (also done on the browser's `online` event). */
  reconnect(): void {
    if (!this.#destroyed) this.#link?.reconnect();
  }

  /** Stops syncing, writes out what is buffered, and releases every live doc. The storage stays open (the caller owns it). */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    for (const entry of this.#entries.values()) {
      if (entry.live) {
        this.#disposeLive(entry.live);
        entry.live = null;
      }
    }
    this.#destroyed = true;
    if (this.#pumpTimer !== null) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = null;
    this.#removeOnlineListener?.();
    this.#link?.stop();
    this.#tabs?.close();
    const waiters = [...this.#syncedWaiters, ...this.#ackedWaiters];
    this.#syncedWaiters = [];
    this.#ackedWaiters = [];
    for (const w of waiters) w.reject(new Error('replica destroyed'));
    this.#session.flush();
    await Promise.all([...this.#entries.values()].map((e) => e.queue));
    this.#notify();
  }

  // ---- entries and storage ----

  #entry(docName: string): DocEntry {
    checkDocName(docName);
    const existing = this.#entries.get(docName);
    if (existing && !existing.forgotten) return existing;
    const entry: DocEntry = {
      name: docName,
      tracked: false,
      refs: 0,
      live: null,
      dirty: false,
      markerQueued: false,
      awaitSeq: null,
      sentSeq: 0,
      ackedSeq: 0,
      seqEpoch: 0,
      acked: new Map(),
      holdMark: null,
      unsaved: 0,
      knownVector: null,
      subEpoch: 0,
      reconciledSeq: 0,
      relayStep2Done: false,
      initialDone: false,
      refused: null,
      // A doc being forgotten finishes that before anything new touches its storage.
      queue: existing ? existing.queue : IDLE_QUEUE,
      appendBuffer: [],
      tabBuffer: [],
      appendLocal: null,
      stateVector: null,
      storedCount: null,
      logBytes: 0,
      snapshotBytes: 0,
      forgotten: false,
      openSend: null,
      summaryKnown: false,
      summary: null,
      subSummary: null,
      relayDeletes: null,
    };
    this.#entries.set(docName, entry);
    // Known at once to have no marker (the start-up read is in and holds every
    // marker of this doc): the op below would do nothing, and leaving the queue
    // idle lets the doc be announced in this turn (`#stateVectorNow`).
    const dirty0 = this.#dirty0;
    if (dirty0 instanceof Set && !dirty0.has(docName) && !this.#summaryStale.has(docName)) {
      return entry;
    }
    // First op of every entry: an earlier session may have left unacked changes.
    // Nothing is sent for the doc before this ran, so no ack can precede it.
    this.#spawn(entry, async () => {
      // Markers are written through this queue, after this op: the start-up read
      // holds every marker of this doc, unless it was forgotten or another tab wrote it.
      const dirty = this.#summaryStale.has(docName) ? null : await this.#startupDirty;
      const marked =
        dirty !== null
          ? dirty.has(docName)
          : (await this.#storage.getMeta(DIRTY_PREFIX + docName)) !== undefined;
      if (!marked || entry.forgotten) return;
      entry.markerQueued = true;
      this.#setDirty(entry);
      this.#sync(entry);
    });
    return entry;
  }

  /** Runs `op` after every storage op already queued for the doc. */
  #run<T>(entry: DocEntry, op: () => Promise<T>): Promise<T> {
    const result = entry.queue.then(op);
    // Back to the idle sentinel once the last queued op is done (see `#stateVectorNow`).
    const settled = () => {
      if (entry.queue === tail) entry.queue = IDLE_QUEUE;
    };
    const tail: Promise<void> = result.then(settled, settled);
    entry.queue = tail;
    return result;
  }

  #spawn(entry: DocEntry, op: () => Promise<void>): void {
    this.#run(entry, op).catch((err) => this.#onError(asError(err)));
  }

  async #readStartupDirty(): Promise<Set<string> | null> {
    try {
      if (typeof this.#storage.metaKeys !== 'function') return null;
      const keys = await this.#storage.metaKeys(DIRTY_PREFIX);
      const dirty = new Set(keys.map((key) => key.slice(DIRTY_PREFIX.length)));
      this.#dirty0 = dirty;
      return dirty;
    } catch (err) {
      this.#onError(asError(err));
      return null;
    }
  }

  async #readStartupStored(): Promise<void> {
    if (!this.#summarize) return;
    try {
      const [names, summaries] = await Promise.all([
        this.#storage.list(''),
        this.#storage.loadSummaries?.() ?? new Map<string, Uint8Array>(),
      ]);
      this.#stored0 = { names: new Set(names), summaries };
    } catch (err) {
      this.#onError(asError(err));
    }
  }

  /**
   * The doc's stored-state summary, known without I/O once the start-up read
   * is in (null: unknown). A doc absent from storage at start-up holds nothing.
   */
  #knownSummary(entry: DocEntry): DocSummary | null {
    if (entry.summaryKnown) return entry.summary;
    const stored0 = this.#stored0;
    if (stored0 === null) return null;
    entry.summaryKnown = true;
    const bytes = stored0.summaries.get(entry.name);
    stored0.summaries.delete(entry.name);
    if (this.#summaryStale.has(entry.name)) entry.summary = null;
    else if (bytes !== undefined) entry.summary = decodeSummary(bytes);
    else entry.summary = stored0.names.has(entry.name) ? null : EMPTY_SUMMARY;
    return entry.summary;
  }

  /** Storage changed under the replica's feet (another tab wrote it): its summary is void. */
  #voidSummary(docName: string): void {
    this.#summaryStale.add(docName);
    const entry = this.#entries.get(docName);
    if (!entry) return;
    entry.summaryKnown = true;
    entry.summary = null;
    entry.subSummary = null;
  }

  async #scanDirty(): Promise<void> {
    try {
      // Only docs with a marker can hold unacked changes from an earlier session.
      const dirty = await this.#startupDirty;
      const names = dirty !== null ? [...dirty].sort() : await this.#storage.list('');
      const reads = names.filter(isValidDocName).map((name) => {
        const entry = this.#entry(name);
        return this.#run(entry, async () => {});
      });
      await Promise.all(reads);
    } finally {
      this.#scanned = true;
      this.#notify();
    }
  }

  #setDirty(entry: DocEntry): void {
    if (entry.dirty) return;
    entry.dirty = true;
    this.#dirtyDocs.add(entry.name);
    this.#notify();
  }

  #setClean(entry: DocEntry): void {
    entry.awaitSeq = null;
    if (!entry.dirty) return;
    entry.dirty = false;
    this.#dirtyDocs.delete(entry.name);
    this.#notify();
  }

  /** Queues `update` for the doc's next storage append (coalescing bursts into one write). */
  #bufferAppend(entry: DocEntry, update: Uint8Array, local: Y.Transaction | null): void {
    entry.appendBuffer.push(update);
    if (local !== null) {
      if (entry.tabBuffer.length === 0) entry.appendLocal = startLocalBatch(local.doc, local);
      else if (entry.appendLocal !== null) addToLocalBatch(entry.appendLocal, local);
      entry.tabBuffer.push(update);
      this.#setUnsaved(entry, entry.unsaved + 1);
    }
    if (entry.appendBuffer.length > 1) return;
    this.#spawn(entry, async () => {
      const forTabs = entry.tabBuffer;
      // Encoded from the live doc only while it is still the doc the batch tracked.
      const batch = entry.live?.doc === entry.appendLocal?.doc ? entry.appendLocal : null;
      const updates = withLocalBatch(entry.appendBuffer, forTabs, batch);
      entry.appendBuffer = [];
      entry.tabBuffer = [];
      entry.appendLocal = null;
      if (entry.forgotten) {
        this.#setUnsaved(entry, entry.unsaved - forTabs.length);
        return;
      }
      await this.#storage.append(entry.name, updates);
      this.#setUnsaved(entry, entry.unsaved - forTabs.length);
      this.#stored(entry, updates);
      if (forTabs.length > 0 && this.#tabs) {
        this.#tabs.post(
          encodeDocs([{ docName: entry.name, message: encodeSyncUpdate(Y.mergeUpdates(forTabs)) }]),
        );
      }
      await this.#maybeCompact(entry);
    });
  }

  /** Counts local updates not yet durable in storage (a failed append leaves them counted: they are not saved). */
  #setUnsaved(entry: DocEntry, count: number): void {
    entry.unsaved = Math.max(0, count);
    const had = this.#unsavedDocs.has(entry.name);
    if (entry.unsaved > 0) this.#unsavedDocs.add(entry.name);
    else this.#unsavedDocs.delete(entry.name);
    if (had !== this.#unsavedDocs.has(entry.name)) this.#infoChanged();
  }

  /** Something `replicationInfo()` reports changed: let `onStatus` listeners know. */
  #infoChanged(): void {
    this.#infoVersion++;
    this.#notify();
  }

  /**
   * Bookkeeping after updates reached storage (with the summary stored along, if
   * any). `whole`: the doc's entire stored state is now this one update.
   */
  #stored(
    entry: DocEntry,
    updates: readonly Uint8Array[],
    summary?: DocSummary,
    whole?: Uint8Array,
  ): void {
    entry.stateVector = summary?.stateVector ?? null;
    entry.summaryKnown = true;
    entry.summary = summary ?? null;
    if (entry.storedCount !== null) entry.storedCount += updates.length;
    for (const update of updates) entry.logBytes += update.length;
    this.#emitChanged(entry.name, whole);
  }

  /**
   * Inside the doc's queue: re-encode a long log as one snapshot — once it
   * holds more than `COMPACT_AFTER_UPDATES` entries and, after the first
   * compaction, at least half the last snapshot's size in new bytes. A
   * compaction merges the whole doc, so compacting every 200 keystrokes made
   * the cost quadratic in the doc's size (issue 6: 20 % of the client CPU in
   * the trace replay); growing the interval with the doc keeps it linear and
   * the log at most 1.5× the state.
   */
  async #maybeCompact(entry: DocEntry): Promise<void> {
    if (entry.storedCount === null || entry.storedCount <= COMPACT_AFTER_UPDATES) return;
    if (entry.logBytes * 2 < entry.snapshotBytes) return;
    const { updates, cursor } = await this.#storage.load(entry.name);
    const live = entry.live;
    // Without other tabs this replica is its storage's only writer, so a loaded live
    // doc holds everything stored (and maybe updates still waiting to be appended,
    // stored twice then, harmlessly). Encoding it is far cheaper than merging the log:
    // `Y.mergeUpdates` keeps every keystroke its own item, the doc has merged them.
    // With tabs, another tab may have stored what this doc has not seen yet.
    const snapshot =
      this.#tabs === null && live?.isLoaded
        ? Y.encodeStateAsUpdate(live.doc)
        : Y.mergeUpdates(updates);
    await this.#storage.compact(entry.name, snapshot, cursor);
    entry.storedCount = 1;
    entry.snapshotBytes = snapshot.length;
    entry.logBytes = 0;
  }

  /**
   * The state vector to announce when it is known at once: a background doc
   * with nothing queued on its storage and its stored summary known from the
   * start-up read (a fresh device's every note). Else null: ask `#stateVector`.
   */
  #stateVectorNow(entry: DocEntry): Uint8Array | null {
    if (entry.live !== null || entry.queue !== IDLE_QUEUE || this.#stored0 === null) return null;
    const summary = this.#knownSummary(entry);
    if (summary === null) return null;
    entry.subSummary = summary;
    return summary.stateVector;
  }

  /** The state vector to announce in SyncStep1. */
  async #stateVector(entry: DocEntry): Promise<Uint8Array> {
    const live = entry.live;
    if (live) {
      await live.loaded;
      if (entry.live === live) return Y.encodeStateVector(live.doc);
    }
    return this.#run(entry, async () => {
      await this.#startupStored;
      const summary = this.#knownSummary(entry);
      if (summary !== null) {
        entry.subSummary = summary;
        return summary.stateVector;
      }
      if (entry.stateVector) return entry.stateVector;
      await this.#loadMerged(entry);
      entry.subSummary = entry.summary;
      return entry.stateVector ?? EMPTY_STATE_VECTOR;
    });
  }

  /** Inside the doc's queue: the stored state as one update, refreshing the cached state vector. */
  async #loadMerged(entry: DocEntry): Promise<Uint8Array> {
    const { updates, cursor } = await this.#storage.load(entry.name);
    const merged = Y.mergeUpdates(updates);
    entry.storedCount = updates.length;
    if (this.#summarize) {
      // Stored, so the next start announces this doc and recognises a relay
      // reply that adds nothing without reading it (bench `coldload`).
      const summary = summaryOfUpdate(merged);
      entry.summaryKnown = true;
      entry.summary = summary;
      entry.stateVector = summary.stateVector;
      this.#storage
        .putSummary?.(entry.name, encodeSummary(summary), cursor)
        .catch((err: unknown) => this.#onError(asError(err)));
    } else {
      entry.stateVector = Y.encodeStateVectorFromUpdate(merged);
    }
    entry.knownVector = Y.decodeStateVector(entry.stateVector);
    return merged;
  }

  /**
   * Whether our `SyncStep2` for a background doc can be empty: the relay
   * (state vector `relayVector`, delete set from its `SyncStep2`) already
   * holds everything the stored state held when we subscribed, and nothing
   * of ours was added since (not dirty, no other tab wrote). Saves reading
   * and diffing the doc, and the relay applying our whole delete set again.
   */
  #answerIsEmpty(entry: DocEntry, relayVector: Uint8Array): boolean {
    const ours = entry.subSummary;
    if (ours === null || entry.dirty || entry.live !== null || entry.unsaved > 0) return false;
    let relay: Map<number, number>;
    try {
      relay = Y.decodeStateVector(relayVector);
    } catch {
      return false;
    }
    if (!vectorCovers(relay, ours.vector)) return false;
    if (ours.deletes.size === 0) return true;
    return entry.relayDeletes !== null && deletesCover(entry.relayDeletes, ours.deletes);
  }

  /** What a peer with state vector `remote` lacks of this doc. */
  async #diffFor(entry: DocEntry, remote: Uint8Array): Promise<Uint8Array> {
    let stateVector = remote;
    try {
      Y.decodeStateVector(remote);
    } catch {
      this.#onError(new Error(`bad state vector for ${entry.name}; sending everything`));
      stateVector = EMPTY_STATE_VECTOR;
    }
    const live = entry.live;
    if (live) {
      await live.loaded;
      if (entry.live === live) return Y.encodeStateAsUpdate(live.doc, stateVector);
    }
    return this.#run(entry, async () => Y.diffUpdate(await this.#loadMerged(entry), stateVector));
  }

  /** Applies a remote update: into the live doc, or straight to storage for a background doc. */
  async #applyRemote(
    entry: DocEntry,
    update: Uint8Array,
    /** The update's delete set when it carries no structs, if already decoded. */
    knownDeletes: DeleteRanges | null = null,
  ): Promise<void> {
    let live = entry.live;
    if (live && !live.isLoaded) {
      // Structs this update holds back for missing dependencies would be
      // released by the load, whose update event is never stored: apply after it.
      await live.loaded.catch(() => undefined);
      live = entry.live;
    }
    if (live) {
      try {
        live.applyForeign(update, RELAY);
      } catch (err) {
        this.#onError(new Error(`bad update for ${entry.name}: ${asError(err).message}`));
        return;
      }
      // The live doc's update handler queued the append; wait for it.
      await this.#run(entry, async () => {});
      return;
    }
    if (isEmptyUpdate(update)) return;
    const prior = this.#knownSummary(entry);
    let next: DocSummary | null = null;
    try {
      // Background docs are never instantiated, so check the bytes before storing them.
      if (prior !== null && isEmptySummary(prior)) {
        // Into an empty doc (a fresh device): the update is the whole state.
        next = summaryOfUpdate(update);
      } else if (
        prior !== null &&
        (knownDeletes !== null || Y.parseUpdateMeta(update).from.size === 0)
      ) {
        const deletes = knownDeletes ?? deletesOf(update);
        // A returning device's relay step 2: usually only deletions we hold. Storing
        // it re-announced the doc as changed (re-indexed) and grew the log each start.
        if (deletesCover(prior.deletes, deletes)) return;
        next = withDeletes(prior, deletes);
      } else {
        Y.decodeUpdate(update);
      }
    } catch (err) {
      this.#onError(new Error(`bad update for ${entry.name}: ${asError(err).message}`));
      return;
    }
    await this.#run(entry, async () => {
      if (entry.forgotten) return;
      // `next` extends the summary it was computed from; anything stored since voids it.
      const summary =
        next !== null && this.#summarize && entry.summaryKnown && entry.summary === prior
          ? next
          : undefined;
      await this.#storage.append(
        entry.name,
        [update],
        summary === undefined ? undefined : encodeSummary(summary),
      );
      // The summary's argument, that nothing was stored before `update`, makes it
      // the whole stored state: listeners (the notes index) need not read it back.
      const whole =
        summary !== undefined && prior !== null && isEmptySummary(prior) ? update : undefined;
      this.#stored(entry, [update], summary, whole);
      if (entry.knownVector) advanceVector(entry.knownVector, update);
      await this.#maybeCompact(entry);
    });
  }

  // ---- live docs ----

  #makeLive(entry: DocEntry): LiveDoc {
    const doc = new Y.Doc();
    // Before any content or awareness exists, so the doc never wrote under another id.
    if (this.#newClientId) {
      const id = this.#newClientId();
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
        doc.destroy();
        throw new RangeError(`newClientId must return a uint32, got ${id}`);
      }
      doc.clientID = id;
    }
    const awareness = new Awareness(doc);
    const live: LiveDoc = {
      doc,
      awareness,
      loaded: Promise.resolve(),
      isLoaded: false,
      relayClients: new Set(),
      session: this.#session.attach(entry.name, doc),
      applyForeign: (update, origin) => applyForeign(update, origin),
      dispose: () => {
        live.session.dispose();
        doc.off('update', onUpdate);
        awareness.off('update', onAwareness);
        awareness.destroy();
        doc.destroy();
      },
    };
    const onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
      if (origin === LOAD || entry.forgotten) return;
      if (origin === TABS) {
        // The other tab stored it in the shared storage before telling us.
        entry.stateVector = null;
        this.#voidSummary(entry.name);
        this.#emitChanged(entry.name);
        return;
      }
      if (origin === RELAY) {
        this.#bufferAppend(entry, update, null);
        return;
      }
      // A local change: durable marker first, then the update itself.
      this.#setDirty(entry);
      entry.subSummary = null;
      if (!entry.markerQueued) {
        entry.markerQueued = true;
        this.#spawn(entry, () => this.#storage.setMeta(DIRTY_PREFIX + entry.name, MARKER));
      }
      this.#bufferAppend(entry, update, tr);
      entry.holdMark ??= new Map();
      raiseClock(entry.holdMark, doc.clientID, Y.getState(doc.store, doc.clientID));
      const link = this.#link;
      if (
        link?.state === 'ready' &&
        entry.subEpoch === link.epoch &&
        entry.refused === null &&
        !this.#readOnly()
      ) {
        const open = entry.openSend;
        if (
          open !== null &&
          link instanceof RelayLink &&
          !open.sealed &&
          open.epoch === link.epoch &&
          entry.seqEpoch === link.epoch &&
          // Only while nothing was numbered after it: acks then mean what they meant per update.
          open.seq === entry.sentSeq
        ) {
          open.updates.push(update);
          addToLocalBatch(open.local, tr);
          if (entry.reconciledSeq > 0) entry.awaitSeq = open.seq;
          return;
        }
        const seq = nextSeq(entry, link.epoch);
        if (entry.reconciledSeq > 0) entry.awaitSeq = seq;
        const batch: OpenSend = {
          epoch: link.epoch,
          seq,
          updates: [update],
          local: startLocalBatch(doc, tr),
          sealed: false,
        };
        // Only the multiplexed link holds messages until the end of the tick (and drops
        // them only with a new epoch); a y-websocket doc socket may park them.
        if (link instanceof RelayLink) entry.openSend = batch;
        let encoded: Uint8Array | null = null;
        link.enqueue({
          docName: entry.name,
          seq,
          // Encoded when the link writes the frame (end of this microtask), so every
          // local update of the tick travels in it; reading it closes the batch.
          get message(): Uint8Array {
            if (encoded === null) {
              batch.sealed = true;
              if (entry.openSend === batch) entry.openSend = null;
              const { updates } = batch;
              encoded = encodeSyncUpdate(
                updates.length === 1
                  ? (updates[0] as Uint8Array)
                  : (encodeLocalBatch(batch.local) ?? Y.mergeUpdates(updates)),
              );
            }
            return encoded;
          },
        });
      }
    };
    const onAwareness = (
      change: { added: number[]; updated: number[]; removed: number[] },
      origin: unknown,
    ) => {
      if (origin === RELAY) {
        for (const id of [...change.added, ...change.updated]) live.relayClients.add(id);
        for (const id of change.removed) live.relayClients.delete(id);
        return;
      }
      if (origin === TABS) return;
      const clients = [...change.added, ...change.updated, ...change.removed];
      const message = encodeAwarenessMessage(encodeAwarenessUpdate(awareness, clients));
      const link = this.#link;
      if (link?.state === 'ready' && entry.subEpoch === link.epoch) {
        link.enqueue({ docName: entry.name, message });
      }
      this.#tabs?.post(encodeDocs([{ docName: entry.name, message }]));
    };
    const applyForeign = (update: Uint8Array, origin: symbol): void => {
      const store = doc.store;
      // Parts held back for missing dependencies may come free with this
      // update; only Yjs's own update bytes carry them.
      if (store.pendingStructs !== null || store.pendingDs !== null) {
        Y.applyUpdate(doc, update, origin);
        return;
      }
      // Nobody needs Yjs to encode this transaction's update (`onUpdate` is
      // the doc's only update listener, and stores the received bytes, which
      // hold all it integrates): ~14 ms for a 1,000-note index as it arrives
      // and ~50 ms for a 5,000-note one as it loads (bench `coldload`).
      let applied: Y.Transaction | null = null;
      const finished = (tr: Y.Transaction) => {
        if (tr.origin === origin) applied = tr;
        // A change made by an observer of this one (in its own transaction).
        else if (transactionChanged(tr)) onUpdate(changedSince(doc, tr), tr.origin, doc, tr);
      };
      doc.off('update', onUpdate);
      doc.on('afterTransaction', finished);
      try {
        Y.applyUpdate(doc, update, origin);
      } catch (err) {
        // What was integrated before the bytes turned out bad is still in the doc.
        const partial = applied as Y.Transaction | null;
        if (partial !== null && transactionChanged(partial)) {
          onUpdate(changedSince(doc, partial), origin, doc, partial);
        }
        throw err;
      } finally {
        doc.off('afterTransaction', finished);
        doc.on('update', onUpdate);
      }
      const done = applied as Y.Transaction | null;
      if (done !== null && transactionChanged(done)) onUpdate(update, origin, doc, done);
    };
    doc.on('update', onUpdate);
    awareness.on('update', onAwareness);
    live.loaded = this.#run(entry, async () => {
      const { updates } = await this.#storage.load(entry.name);
      entry.storedCount = updates.length;
      if (updates.length > 0) live.applyForeign(Y.mergeUpdates(updates), LOAD);
      live.isLoaded = true;
      // Checked against what this session read and wrote before it is shown.
      await live.session.ready();
      // Other tabs may hold edits of this doc that are not stored yet.
      this.#tabs?.post(
        encodeDocs([
          { docName: entry.name, message: encodeSyncStep1(Y.encodeStateVector(doc)) },
          { docName: entry.name, message: localAwareness(awareness) },
        ]),
      );
    });
    return live;
  }

  #release(entry: DocEntry, live: LiveDoc): void {
    if (entry.live !== live) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.#disposeLive(live);
    entry.live = null;
    if (!this.#destroyed) this.#sync(entry);
  }

  #disposeLive(live: LiveDoc): void {
    // Tell the relay and other tabs that this client left (sent via the awareness handler).
    removeAwarenessStates(live.awareness, [live.doc.clientID], 'release');
    live.dispose();
  }

  // ---- subscription ----

  /** Subscribes or leaves the doc on the relay link as its needs changed. */
  #sync(entry: DocEntry): void {
    this.#notify();
    const link = this.#link;
    if (!this.#destroyed) link?.setLive(entry.name, entry.live !== null && !entry.forgotten);
    if (this.#destroyed || link?.state !== 'ready') return;
    const subscribed = entry.subEpoch === link.epoch;
    if (!needed(entry)) this.#deferred.delete(entry.name);
    if (needed(entry) && !subscribed) {
      if (this.#defers(entry)) {
        this.#deferred.add(entry.name);
        this.#schedulePump();
        return;
      }
      this.#deferred.delete(entry.name);
      if (this.#takesSlot(entry)) this.#inFlight.add(entry.name);
      void this.#subscribe([entry]);
    } else if (!needed(entry) && subscribed) this.#leave(entry);
  }

  async #subscribe(entries: DocEntry[]): Promise<void> {
    const link = this.#link;
    if (!link || entries.length === 0) return;
    const epoch = link.epoch;
    for (const entry of entries) {
      entry.subEpoch = epoch;
      entry.reconciledSeq = 0;
      entry.relayStep2Done = false;
      entry.awaitSeq = null;
      entry.initialDone = false;
      entry.refused = null;
      entry.subSummary = null;
      entry.relayDeletes = null;
      this.#subscribed.add(entry.name);
      this.#awaitingInitial.add(entry.name);
    }
    this.#notify();
    // Known at once (a fresh device's notes): announced in this turn, so the
    // subscription frame leaves before the list re-renders for the index that
    // named them (~30–60 ms sooner at 1,000 notes, bench `coldload`).
    const now = entries.map((entry) => this.#stateVectorNow(entry));
    if (now.every((vector) => vector !== null)) {
      this.#announce(link, epoch, entries, now as Uint8Array[]);
      return;
    }
    const release = link.hold();
    try {
      const vectors = await Promise.all(
        entries.map(
          (entry, i) =>
            now[i] ??
            this.#stateVector(entry).catch((err) => {
              // Announcing an empty state costs bandwidth, never data.
              this.#onError(asError(err));
              return EMPTY_STATE_VECTOR;
            }),
        ),
      );
      if (link.epoch !== epoch) return;
      this.#announce(link, epoch, entries, vectors);
    } finally {
      release();
    }
  }

  /** Sends `SyncStep1` with `vectors[i]` (and live docs' awareness) for each entry still subscribed in `epoch`. */
  #announce(
    link: FrontLink,
    epoch: number,
    entries: readonly DocEntry[],
    vectors: readonly Uint8Array[],
  ): void {
    entries.forEach((entry, i) => {
      if (entry.subEpoch !== epoch) return;
      try {
        entry.holdMark ??= new Map();
        for (const [client, clock] of Y.decodeStateVector(vectors[i]!)) {
          raiseClock(entry.holdMark, client, clock);
        }
      } catch {
        // An unreadable stored state was reported when it was read.
      }
      const seq = nextSeq(entry, epoch);
      link.enqueue({ docName: entry.name, message: encodeSyncStep1(vectors[i]!), seq });
      if (entry.live) {
        link.enqueue({ docName: entry.name, message: localAwareness(entry.live.awareness) });
      }
    });
  }

  #leave(entry: DocEntry): void {
    const link = this.#link;
    entry.subEpoch = 0;
    entry.initialDone = false;
    entry.awaitSeq = null;
    this.#subscribed.delete(entry.name);
    this.#awaitingInitial.delete(entry.name);
    this.#settled(entry.name);
    if (link && isValidDocName(entry.name)) {
      link.leave(entry.name, entry.seqEpoch === link.epoch ? entry.sentSeq : 0);
    }
    this.#notify();
  }

  // ---- relay events ----

  #onLinkState(state: LinkState): void {
    if (state !== 'ready') {
      // Whatever was in flight on the old connection is unacknowledged now.
      this.#subscribed.clear();
      this.#awaitingInitial.clear();
      // Their slots belong to the old connection; `#onLinkReady` queues them again.
      this.#inFlight.clear();
      for (const entry of this.#entries.values()) {
        entry.subEpoch = 0;
        entry.awaitSeq = null;
        entry.initialDone = false;
        dropRelayAwareness(entry);
      }
    }
    this.#notify();
  }

  /** y-websocket: the doc's own socket ended; subscribe it again (on a new socket). */
  #onDocLost(docName: string): void {
    const entry = this.#entries.get(docName);
    if (!entry || entry.subEpoch === 0) return;
    entry.subEpoch = 0;
    entry.awaitSeq = null;
    entry.initialDone = false;
    this.#subscribed.delete(docName);
    this.#awaitingInitial.delete(docName);
    this.#settled(docName);
    dropRelayAwareness(entry);
    this.#sync(entry);
  }

  /** y-websocket: a sync step 1 for the doc, as heartbeat, delivery check or greeting on a new socket. */
  #onProbe(docName: string, newSocket: boolean): void {
    const link = this.#link;
    const entry = this.#entries.get(docName);
    if (!link || !entry || entry.forgotten || entry.subEpoch !== link.epoch) return;
    const epoch = link.epoch;
    this.#stateVector(entry).then(
      (vector) => {
        if (link.epoch !== epoch || entry.subEpoch !== epoch) return;
        const seq = nextSeq(entry, epoch);
        link.enqueue({ docName, message: encodeSyncStep1(vector), seq });
        if (newSocket && entry.live) {
          link.enqueue({ docName, message: localAwareness(entry.live.awareness) });
        }
      },
      (err: unknown) => this.#onError(asError(err)),
    );
  }

  #onLinkInfo(): void {
    const link = this.#link;
    if (!link) return;
    const stats = this.#relayStats.get(link.endpoint.url);
    if (!stats) return;
    if (link.relayId !== null) {
      stats.relayId = link.relayId;
      this.#relaysHeard.add(link.relayId);
    }
    if (link.heartbeatRttMs !== null) stats.rttMs = Math.round(link.heartbeatRttMs * 10) / 10;
    this.#infoChanged();
  }

  #onLinkReady(): void {
    const entries: DocEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (!needed(entry)) continue;
      if (this.#isBackground(entry)) this.#deferred.add(entry.name);
      else entries.push(entry);
    }
    void this.#subscribe(entries);
    this.#pump();
  }

  #onRelayDocs(messages: DocMessage[]): void {
    const link = this.#link;
    if (!link) return;
    const epoch = link.epoch;
    const handle = (batch: DocMessage[]) => {
      const release = link.hold();
      const work = batch.map(({ docName, message }) =>
        this.#onRelayMessage(docName, message, epoch).catch((err) => this.#onError(asError(err))),
      );
      return Promise.all(work).then(release);
    };
    // The relay's SyncStep1s are answered first, in a frame of their own, before
    // its SyncStep2s are applied: the relay (and every replica it forwards to)
    // waits for our answer, only we wait for our apply. After a partition both
    // are large and the relay sends them in one frame, so answering first lets
    // the relay integrate our changes while we integrate its (bench `heal`:
    // the answer left after the apply, ~60 ms later at 10,000 edits per side).
    // The answer does not depend on the apply: it is what the relay's vector lacks.
    // Only for loaded live docs, whose answer is encoded from memory at once; a
    // background doc's answer reads storage through its queue, and holding every
    // other message of a 500-doc frame behind those reads made a fresh sync slower.
    // The relay's delete sets first (a step 2 precedes its step 1 in a frame), so a
    // background doc whose answer is empty (`#answerIsEmpty`) is answered first too:
    // its answer then leaves without waiting for the frame's storage writes.
    for (const { docName, message } of messages) {
      if (!isSyncStep2(message)) continue;
      const entry = this.#entries.get(docName);
      if (!entry || entry.subEpoch !== epoch) continue;
      // Always replaced, so it always describes the step 2 being handled (null: has structs).
      entry.relayDeletes =
        entry.live === null && entry.subSummary !== null
          ? relayDeletesOf(stepPayload(message))
          : null;
    }
    const answerFirst = ({ docName, message }: DocMessage) => {
      if (!isSyncStep1(message)) return false;
      const entry = this.#entries.get(docName);
      if (entry?.live?.isLoaded === true) return true;
      return entry !== undefined && this.#answerIsEmpty(entry, stepPayload(message));
    };
    const first: DocMessage[] = [];
    const rest: DocMessage[] = [];
    for (const m of messages) (answerFirst(m) ? first : rest).push(m);
    if (first.length === 0 || rest.length === 0) {
      void handle(messages);
      return;
    }
    // `handle(first)` releases its hold, which queues the flush before `rest` starts.
    void handle(first).then(() => handle(rest));
  }

  async #onRelayMessage(docName: string, data: Uint8Array, epoch: number): Promise<void> {
    const entry = this.#entries.get(docName);
    // Messages for docs we left (or never asked for) are stale, not errors.
    if (!entry || entry.forgotten || entry.subEpoch !== epoch) return;
    let message: ReturnType<typeof decodeYMessage>;
    try {
      message = decodeYMessage(data);
    } catch (err) {
      this.#onError(new Error(`bad message for ${docName} from relay: ${asError(err).message}`));
      return;
    }
    const link = this.#link!;
    switch (message.type) {
      case YMessageType.Sync: {
        if (message.step === SyncStep.Step1) {
          // Read-only: our changes stay here (pending); nothing to answer.
          const empty = this.#readOnly() || this.#answerIsEmpty(entry, message.payload);
          const update = empty ? EMPTY_UPDATE : await this.#diffFor(entry, message.payload);
          if (link.epoch !== epoch || entry.subEpoch !== epoch) return;
          if (
            isEmptyUpdate(update) &&
            !entry.dirty &&
            entry.seqEpoch === epoch &&
            entry.sentSeq > 0
          ) {
            // An empty answer tells the relay nothing, and a relay (or a plain
            // y-websocket server) never waits for one: the exchange is done once
            // our own step 1, and everything numbered after it, is acked. Not
            // sending it spared a fresh device one message and one `Ack` per
            // doc (bench `coldload`: ~800 of each after the relay's answers).
            // Known empty without I/O (`#answerIsEmpty`) or computed empty (a
            // live doc, say a note held open before its state arrived).
            entry.reconciledSeq = entry.sentSeq;
            this.#checkInitialDone(entry);
            return;
          }
          // A doc with unacked changes answers even emptily: the ack naming this
          // number is what clears them.
          const seq = nextSeq(entry, epoch);
          if (entry.dirty && !this.#readOnly()) entry.awaitSeq = seq;
          // A repeated step 1 (a duplicate, or a y-websocket server's greeting on a new socket) moves it on.
          entry.reconciledSeq = seq;
          link.enqueue({ docName, message: encodeSyncStep2(update), seq });
          return;
        }
        // The relay's step 2 delete set, already decoded for `#answerIsEmpty` in `#onRelayDocs`.
        const deletes = message.step === SyncStep.Step2 ? entry.relayDeletes : null;
        await this.#applyRemote(entry, message.payload, deletes);
        if (message.step === SyncStep.Step2 && entry.subEpoch === epoch) {
          entry.relayStep2Done = true;
          // The relay's answer is stored: what is left (our answer's ack) costs us nothing.
          this.#settled(docName);
          this.#checkInitialDone(entry);
        }
        return;
      }
      case YMessageType.Awareness: {
        const live = entry.live;
        if (!live) return;
        try {
          applyAwarenessUpdate(live.awareness, message.update, RELAY);
        } catch (err) {
          this.#onError(new Error(`bad awareness for ${docName}: ${asError(err).message}`));
        }
        return;
      }
      case YMessageType.QueryAwareness: {
        const live = entry.live;
        if (!live) return;
        const clients = [...live.awareness.getStates().keys()];
        link.enqueue({
          docName,
          message: encodeAwarenessMessage(encodeAwarenessUpdate(live.awareness, clients)),
        });
        return;
      }
      case YMessageType.Auth:
        this.#refuse(entry, 'relay denied access');
        return;
    }
  }

  #onAck(docName: string, seq: number, stateVector: Uint8Array): void {
    const link = this.#link;
    const entry = this.#entries.get(docName);
    if (!link || !entry || entry.forgotten || entry.seqEpoch !== link.epoch) return;
    // Numbers are per connection: an ack naming one never sent here is about nothing of ours.
    if (seq < 1 || seq > entry.sentSeq) return;
    // Acks may arrive reordered or twice: only ever move forward.
    entry.ackedSeq = Math.max(entry.ackedSeq, seq);
    const url = link.endpoint.url;
    this.#mergeAcked(entry, relayKey(link.relayId, url), stateVector);
    const now = this.#now();
    const stats = this.#relayStats.get(url);
    if (stats) stats.lastAckAt = now;
    this.#lastSyncAt = now;
    this.#infoChanged();
    this.#checkInitialDone(entry);
    if (entry.awaitSeq === null || entry.ackedSeq < entry.awaitSeq) return;
    this.#setClean(entry);
    if (entry.markerQueued) {
      entry.markerQueued = false;
      this.#spawn(entry, () => this.#storage.setMeta(DIRTY_PREFIX + docName, undefined));
    }
    this.#sync(entry);
  }

  /** Merges an acked state vector by max per client, so what a relay acked never goes back. */
  #mergeAcked(entry: DocEntry, key: string, stateVector: Uint8Array): void {
    let vector: VectorMap;
    try {
      vector = Y.decodeStateVector(stateVector);
    } catch {
      this.#onError(new Error(`relay sent an undecodable state vector for ${entry.name}; ignored`));
      return;
    }
    let acked = entry.acked.get(key);
    if (!acked) {
      acked = new Map();
      entry.acked.set(key, acked);
    }
    for (const [client, clock] of vector) {
      if (clock > (acked.get(client) ?? 0)) acked.set(client, clock);
    }
  }

  /**
   * A peer of the connected relay durably holds `stateVector` of the doc. It
   * says nothing about our message numbers, so it never clears `dirty`: it
   * only feeds "on N of M relays".
   */
  #onClusterAck(docName: string, relayId: string, stateVector: Uint8Array): void {
    const entry = this.#entries.get(docName);
    if (!entry || entry.forgotten) return;
    this.#relaysHeard.add(relayId);
    this.#mergeAcked(entry, relayId, stateVector);
    this.#infoChanged();
  }

  /** The initial exchange is done once the relay's step 2 is stored and ours is acked. */
  #checkInitialDone(entry: DocEntry): void {
    const link = this.#link;
    if (!link || entry.initialDone || entry.subEpoch !== link.epoch) return;
    if (!entry.relayStep2Done || entry.reconciledSeq === 0) return;
    if (entry.seqEpoch !== link.epoch || entry.ackedSeq < entry.reconciledSeq) return;
    entry.initialDone = true;
    this.#awaitingInitial.delete(entry.name);
    this.#settled(entry.name);
    this.#lastSyncAt = this.#now();
    this.#infoChanged();
  }

  #onDocError(docName: string, code: DocErrorCode, reason: string): void {
    const entry = this.#entries.get(docName);
    if (!entry || entry.subEpoch !== this.#link?.epoch) return;
    if (code === DocErrorCode.ReadOnly) {
      // The relay dropped an update of ours and stays subscribed: keep receiving, stop sending,
      // and never let a later ack clear the dropped change's pending mark.
      entry.awaitSeq = null;
      this.#onError(new Error(`relay refused an update to ${docName}: read-only (${reason})`));
      if (!this.#readOnly()) this.#setAccess({ ...this.#access, role: 'read' });
      this.#notify();
      return;
    }
    this.#refuse(entry, `${reason} (code ${code})`);
    if (code === DocErrorCode.Forbidden) {
      this.#setAccess({ role: this.#access.role, problem: 'forbidden', reason });
    }
  }

  #refuse(entry: DocEntry, reason: string): void {
    entry.refused = reason;
    this.#awaitingInitial.delete(entry.name);
    this.#settled(entry.name);
    this.#onError(new Error(`relay refused doc ${entry.name}: ${reason}`));
    this.#notify();
  }

  // ---- tabs ----

  #onTabFrame(data: Uint8Array): void {
    if (this.#destroyed) return;
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.message : String(err);
      this.#onError(new Error(`malformed frame from another tab: ${reason}`));
      return;
    }
    if (frame.type !== FrameType.Docs) return;
    const replies: DocMessage[] = [];
    for (const { docName, message: data } of frame.messages) {
      const entry = this.#entries.get(docName);
      if (!entry || entry.forgotten) {
        // The sending tab may have stored it: a summary read at start-up may be stale.
        if (data[0] === YMessageType.Sync && data[1] !== SyncStep.Step1) {
          this.#summaryStale.add(docName);
        }
        continue;
      }
      let message: ReturnType<typeof decodeYMessage>;
      try {
        message = decodeYMessage(data);
      } catch (err) {
        this.#onError(new Error(`bad message for ${docName} from a tab: ${asError(err).message}`));
        continue;
      }
      const live = entry.live;
      try {
        if (message.type === YMessageType.Sync) {
          if (message.step === SyncStep.Step1) {
            if (live?.isLoaded) {
              const update = Y.encodeStateAsUpdate(live.doc, message.payload);
              replies.push({ docName, message: encodeSyncStep2(update) });
              replies.push({ docName, message: localAwareness(live.awareness) });
            }
          } else if (live) {
            live.applyForeign(message.payload, TABS);
          } else if (needed(entry)) {
            // Stored by the sending tab in the shared storage; only our cache is stale.
            entry.stateVector = null;
            this.#voidSummary(docName);
            entry.storedCount = null;
            this.#emitChanged(docName);
          }
        } else if (message.type === YMessageType.Awareness && live) {
          applyAwarenessUpdate(live.awareness, message.update, TABS);
        }
      } catch (err) {
        this.#onError(new Error(`bad message for ${docName} from a tab: ${asError(err).message}`));
      }
    }
    for (const batch of splitDocMessages(replies)) this.#tabs?.post(encodeDocs(batch));
  }

  // ---- notifications ----

  #emitChanged(docName: string, stored?: Uint8Array): void {
    for (const listener of this.#changeListeners) this.#call(() => listener(docName, stored));
  }

  #workspaceState(): SyncState {
    const link = this.#link;
    if (this.#destroyed || !link) return 'offline';
    if (link.state === 'offline') return 'offline';
    if (link.state === 'connecting') return 'connecting';
    const busy =
      !this.#scanned ||
      this.#awaitingInitial.size > 0 ||
      this.#dirtyDocs.size > 0 ||
      this.#deferred.size > 0;
    return busy ? 'syncing' : 'synced';
  }

  /** Schedules one status emission for everything that changed in this microtask. */
  #notify(): void {
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      const status = this.status;
      if (status.state === 'synced' && this.#syncedWaiters.length > 0) {
        const waiters = this.#syncedWaiters;
        this.#syncedWaiters = [];
        for (const w of waiters) w.resolve();
      }
      if (this.#scanned && !status.pendingLocal && this.#ackedWaiters.length > 0) {
        const waiters = this.#ackedWaiters;
        this.#ackedWaiters = [];
        for (const w of waiters) w.resolve();
      }
      const progress = this.progress;
      const key = `${status.state}|${status.pendingLocal}|${progress.synced}/${progress.total}|${this.#infoVersion}|${this.#link?.state}`;
      if (key !== this.#lastEmitted) {
        this.#lastEmitted = key;
        for (const listener of this.#statusListeners) this.#call(() => listener(status));
      }
      if (this.#docStatusListeners.size > 0) this.#emitDocStatuses();
    });
  }

  #emitDocStatuses(): void {
    const names = new Set([...this.#entries.keys(), ...this.#docStatusSeen.keys()]);
    for (const name of names) {
      const status = this.docStatus(name);
      const key = `${status.state}|${status.pendingLocal}`;
      if (this.#docStatusSeen.get(name) === key) continue;
      if (!this.#docStatusSeen.has(name) && key === 'offline|false') continue;
      this.#docStatusSeen.set(name, key);
      for (const listener of this.#docStatusListeners) this.#call(() => listener(name, status));
    }
  }

  #call(listener: () => void): void {
    try {
      listener();
    } catch (err) {
      this.#onError(asError(err));
    }
  }

  #checkAlive(): void {
    if (this.#destroyed) throw new Error('replica destroyed');
  }
}

/** The next message number of the doc on connection `epoch` (numbers restart with each connection). */
function nextSeq(entry: DocEntry, epoch: number): number {
  if (entry.seqEpoch !== epoch) {
    entry.seqEpoch = epoch;
    entry.sentSeq = 0;
    entry.ackedSeq = 0;
  }
  entry.sentSeq++;
  return entry.sentSeq;
}

/** Forgets the awareness states the relay told us about for this doc. */
function dropRelayAwareness(entry: DocEntry): void {
  const live = entry.live;
  if (live && live.relayClients.size > 0) {
    removeAwarenessStates(live.awareness, [...live.relayClients], RELAY);
  }
}

/** Normalizes and checks `ReplicaOptions.relays`. */
function relayEndpoints(relays: unknown): RelayEndpoint[] {
  if (!Array.isArray(relays)) {
    throw new TypeError('relays must be an array of URLs or { url, protocol } endpoints');
  }
  const endpoints = relays.map((relay, i): RelayEndpoint => {
    if (typeof relay === 'string') return { url: relay, protocol: 'lattice' };
    const r = relay as Partial<RelayEndpoint> | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.url !== 'string' ||
      (r.protocol !== 'lattice' && r.protocol !== 'y-websocket')
    ) {
      throw new TypeError(
        `relays[${i}] must be a URL or { url: string, protocol: 'lattice' | 'y-websocket' }`,
      );
    }
    return { url: r.url, protocol: r.protocol };
  });
  if (new Set(endpoints.map((e) => e.protocol)).size > 1) {
    throw new TypeError('relays must all speak one protocol (lattice or y-websocket), not a mix');
  }
  if (new Set(endpoints.map((e) => e.url)).size !== endpoints.length) {
    throw new TypeError('relays must not list a URL twice');
  }
  return endpoints;
}

/** How `DocEntry.acked` names a relay: its id, or its URL when it has none (y-websocket servers). */
function relayKey(relayId: string | null, url: string): string {
  return relayId ?? url;
}

/** This replica's state vector of the doc as far as known without I/O (`null`: not read yet). */
function localVector(entry: DocEntry): VectorMap | null {
  if (entry.live?.isLoaded) return Y.decodeStateVector(Y.encodeStateVector(entry.live.doc));
  if (entry.stateVector) return Y.decodeStateVector(entry.stateVector);
  return entry.knownVector;
}

function raiseClock(vector: VectorMap, client: number, clock: number): void {
  if (clock > (vector.get(client) ?? 0)) vector.set(client, clock);
}

/** Does `acked` cover every clock of `local`? */
function covers(acked: VectorMap | undefined, local: VectorMap): boolean {
  for (const [client, clock] of local) if ((acked?.get(client) ?? 0) < clock) return false;
  return true;
}

/** A state vector as sorted entries. */
function vectorEntries(vector: VectorMap): StateVectorEntry[] {
  return [...vector]
    .map(([clientId, clock]) => ({ clientId, clock }))
    .sort((a, b) => a.clientId - b.clientId);
}

/**
 * Moves a known state vector past `update` where the update continues it
 * without a gap (a diff or live update does; anything else leaves it as is).
 */
function advanceVector(known: VectorMap, update: Uint8Array): void {
  let meta: { from: Map<number, number>; to: Map<number, number> };
  try {
    meta = Y.parseUpdateMeta(update);
  } catch {
    return;
  }
  for (const [client, from] of meta.from) {
    const to = meta.to.get(client) ?? from;
    const have = known.get(client) ?? 0;
    if (from <= have && to > have) known.set(client, to);
  }
}

function needed(entry: DocEntry): boolean {
  return !entry.forgotten && (entry.tracked || entry.refs > 0 || entry.dirty);
}

function checkDocName(docName: string): void {
  if (typeof docName !== 'string' || !isValidDocName(docName)) {
    throw new TypeError(`invalid doc name: ${JSON.stringify(docName)}`);
  }
}

/** An awareness message carrying only this client's state. */
function localAwareness(awareness: Awareness): Uint8Array {
  return encodeAwarenessMessage(encodeAwarenessUpdate(awareness, [awareness.clientID]));
}

/** A y-protocols `SyncStep1` (both leading varuints are single bytes: type 0, step 0). */
function isSyncStep1(message: Uint8Array): boolean {
  return message[0] === YMessageType.Sync && message[1] === SyncStep.Step1;
}

function isSyncStep2(message: Uint8Array): boolean {
  return message[0] === YMessageType.Sync && message[1] === SyncStep.Step2;
}

/** The payload of a sync message (after its two one-byte varuints), as `decodeYMessage` reads it; empty when unreadable. */
function stepPayload(message: Uint8Array): Uint8Array {
  try {
    const decoded = decodeYMessage(message);
    return decoded.type === YMessageType.Sync ? decoded.payload : new Uint8Array(0);
  } catch {
    return new Uint8Array(0);
  }
}

/** The delete set of a relay's step 2 when it carries no structs (null otherwise or unreadable). */
function relayDeletesOf(update: Uint8Array): DeleteRanges | null {
  try {
    // The header settles nearly every step 2 that has structs (a fresh device's
    // are whole docs): parsing all of them only to learn that was ~10 % of the
    // page's work in a fresh load (bench/README.md, "Cold load", fourth round).
    if (headerShowsStructs(update) || Y.parseUpdateMeta(update).from.size > 0) return null;
    return deletesOf(update);
  } catch {
    return null;
  }
}

/** A V1 update whose first client block holds structs (its count and that block's struct count). */
function headerShowsStructs(update: Uint8Array): boolean {
  const decoder = decoding.createDecoder(update);
  return decoding.readVarUint(decoder) > 0 && decoding.readVarUint(decoder) > 0;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
