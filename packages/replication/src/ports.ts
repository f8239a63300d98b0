/**
 * The ports of the replication core. Every implementation of a port passes
 * that port's one exported contract suite (see `testing/`).
 */
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';

/** The stored updates of one doc and a cursor for compaction. */
export interface StoredDoc {
  /** Updates in append order (a compacted snapshot counts as one update). */
  updates: Uint8Array[];
  /** Opaque position after the last returned update; pass to `compact`. */
  cursor: number;
}

/**
 * Durable storage of doc updates (append log + periodic compaction) and a small
 * key/value area for metadata. Implementations: memory (tests), IndexedDB
 * (browser), LevelDB (relay).
 */
export interface StorageAdapter {
  /** All updates stored for `docName` (empty list when unknown). */
  load(docName: string): Promise<StoredDoc>;
  /**
   * Appends updates; resolves only once they are durable. Atomic per call.
   * With summaries (below): sets the doc's summary to `summary` in the same
   * write, or drops it when `summary` is omitted. For a doc this append
   * starts (its log was empty), an adapter may write `summary` a little
   * later instead; the doc has no summary until then.
   */
  append(docName: string, updates: readonly Uint8Array[], summary?: Uint8Array): Promise<void>;
  /**
   * Replaces every update up to `cursor` (from an earlier `load`) with
   * `snapshot`, atomically; updates appended after that `load` are kept.
   */
  compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void>;
  /** Names of stored docs starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes a doc and all its updates. */
  delete(docName: string): Promise<void>;
  /** Reads a metadata value. */
  getMeta(key: string): Promise<Uint8Array | undefined>;
  /** Writes (or, with `undefined`, removes) a metadata value durably. */
  setMeta(key: string, value: Uint8Array | undefined): Promise<void>;
  /** Releases resources; later calls reject. */
  close(): Promise<void>;
  /**
   * Optional, with `loadSummaries`: a small opaque record per doc describing
   * its stored state (the replica keeps the state vector and delete set
   * there, so start-up needs no doc reads). A summary is exact or absent:
   * every `append` without one and every `delete` drop it; `compact` keeps it.
   * Stores `summary` unless something was appended after `cursor` (from
   * `load`); resolves whether it was stored.
   */
  putSummary?(docName: string, summary: Uint8Array, cursor: number): Promise<boolean>;
  /** Every stored summary, by doc name, in one read. */
  loadSummaries?(): Promise<Map<string, Uint8Array>>;
  /** Optional: the meta keys starting with `prefix`, in one read. */
  metaKeys?(prefix: string): Promise<string[]>;
}

/** Connection state of a transport. */
export type TransportState = 'idle' | 'connecting' | 'open' | 'closed';

/** Why a transport closed. */
export interface TransportCloseEvent {
  code: number;
  reason: string;
}

/**
 * A frame pipe to one remote replica (a relay, or other tabs). A transport
 * connects once; the front end makes a new one (via a `TransportFactory`) for
 * every reconnect.
 */
export interface Transport {
  readonly state: TransportState;
  /** Starts connecting; `onOpen` fires once usable. */
  connect(): void;
  /** Sends one binary frame; ignored unless `state === 'open'`. */
  send(frame: Uint8Array): void;
  /** Closes; `onClose` fires once. */
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet handed to the network (backpressure signal). */
  readonly bufferedAmount: number;
  onOpen: (() => void) | null;
  onMessage: ((frame: Uint8Array) => void) | null;
  onClose: ((event: TransportCloseEvent) => void) | null;
}

/** Makes a fresh transport to `url` (a relay's multiplexed endpoint). */
export type TransportFactory = (url: string) => Transport;

/** Sync status of one doc or of the whole workspace. */
export type SyncState = 'offline' | 'connecting' | 'syncing' | 'synced';

/** Observable status: connection state plus whether local changes wait to be stored on a relay. */
export interface SyncStatus {
  state: SyncState;
  /** This replica holds changes that no relay has acknowledged as durable. */
  pendingLocal: boolean;
}

/** A live, loaded doc. Call `release` when the UI no longer shows it. */
export interface DocHandle {
  readonly docName: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Resolves once the doc holds everything local storage had. */
  readonly whenLoaded: Promise<void>;
  /**
   * False while this replica of the doc is behind what this session has read
   * or written (session guarantees, see docs/ARCHITECTURE.md): show it as
   * "arriving", not as the current state. Becomes true once the rest arrives.
   */
  readonly current: boolean;
  /** Called with the new value whenever `current` changes; returns the unsubscribe function. */
  onCurrentChange(listener: (current: boolean) => void): () => void;
  release(): void;
}

/** `DocSource.onDocChanged`'s listener. */
export type DocChangeListener = (docName: string, stored?: Uint8Array) => void;

/**
 * What the notes model needs from the replication core; `Replica` implements
 * it, and tests may supply simpler ones.
 */
export interface DocSource {
  /** Loads `docName` from storage into a live doc and keeps it synced until released. */
  open(docName: string): Promise<DocHandle>;
  /** Keeps `docName` synced and stored in the background without holding it in memory. */
  track(docName: string): void;
  /** Stops background sync of `docName` (stored data stays). */
  untrack(docName: string): void;
  /** Removes `docName` from this replica's storage (and stops syncing it). */
  forget(docName: string): Promise<void>;
  /** The merged stored state of `docName` as one update, without opening it. */
  readStored(docName: string): Promise<Uint8Array>;
  /**
   * Called after any change (local or remote) to a tracked or open doc has been
   * stored. `stored`, when given, is the doc's whole stored state after this
   * change (its first update, as on a fresh device): what `readStored` would
   * return now, so a listener need not read it back. A later call without it
   * voids it.
   */
  onDocChanged(listener: DocChangeListener): () => void;
  /** Small durable metadata area (e.g. the search index). */
  getMeta(key: string): Promise<Uint8Array | undefined>;
  setMeta(key: string, value: Uint8Array | undefined): Promise<void>;
}

/** The relay core's view of one accepted connection (a WebSocket, or an in-memory pipe in tests). */
export interface RelayConnection {
  /** Sends one binary frame to the peer. */
  send(frame: Uint8Array): void;
  /** Closes the connection with a `CloseCode`. */
  close(code: number, reason: string): void;
  /** Bytes queued toward the peer (backpressure signal). */
  readonly bufferedAmount: number;
  /** Identifies the connection in logs (the upgrade request's id); absent in-memory. */
  readonly id?: string;
  /** The remote IP address, for per-address limits; absent in-memory. */
  readonly remoteAddress?: string;
  /**
   * Stops reading frames from the peer until `resume` (TCP backpressure on a
   * flooding sender instead of an unbounded queue). Absent: cannot pause.
   */
  pause?(): void;
  resume?(): void;
}

/** What the relay core returns for an accepted connection: feed it frames, tell it when the socket closed. */
export interface ConnectionHandler {
  receive(frame: Uint8Array): void;
  closed(): void;
}
