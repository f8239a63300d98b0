import type { ConnectionHandler, RelayConnection, StorageAdapter } from '../ports.ts';
import { CloseCode } from '../protocol.ts';
import { MultiplexedSession } from './MultiplexedSession.ts';
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
}

type Session = MultiplexedSession | YWebsocketSession;

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
  readonly #log: RelayLog;
  readonly #ctx: SessionContext;
  /** The current incarnation of each room, by doc name. */
  readonly #rooms = new Map<string, Room>();
  /** Every room that has not finished unloading, including superseded incarnations. */
  readonly #live = new Set<Room>();
  readonly #sessions = new Set<Session>();
  #closing: Promise<void> | null = null;

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
    this.#ctx = {
      relayId: this.relayId,
      handshakeTimeoutMs,
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      log: this.#log,
      join: (docName, member) => this.#join(docName, member),
      ended: (session) => {
        this.#sessions.delete(session as Session);
      },
    };
  }

  /** Accepts a Lattice multiplexed socket (`/sync`); feed its frames to the returned handler. */
  acceptMultiplexed(conn: RelayConnection): ConnectionHandler {
    if (this.#closing !== null) return refuse(conn);
    return this.#track(new MultiplexedSession(conn, this.#ctx));
  }

  /** Accepts a plain y-websocket socket for `docName` (`/ws/<docName>`). */
  acceptYWebsocket(conn: RelayConnection, docName: string): ConnectionHandler {
    if (this.#closing !== null) return refuse(conn);
    return this.#track(new YWebsocketSession(conn, docName, this.#ctx));
  }

  /** Rooms in memory (loading or loaded) and open connections. */
  stats(): { rooms: number; connections: number } {
    return { rooms: this.#rooms.size, connections: this.#sessions.size };
  }

  /**
   * Closes every connection with `CloseCode.GoingAway`, flushes pending
   * commits and drops all rooms. Storage stays open (its owner closes it).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const session of [...this.#sessions]) {
      session.close(CloseCode.GoingAway, 'relay shutting down');
    }
    await Promise.all([...this.#live].map((room) => room.unload(false)));
    this.#rooms.clear();
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
      log: this.#log,
      // A superseded incarnation may still be writing; load only after it is done.
      after: current?.unload(true),
      onUnloaded: (done) => {
        this.#live.delete(done);
        if (this.#rooms.get(docName) === done) this.#rooms.delete(docName);
      },
    });
    this.#rooms.set(docName, room);
    this.#live.add(room);
    return room;
  }
}

function refuse(conn: RelayConnection): ConnectionHandler {
  conn.close(CloseCode.GoingAway, 'relay shutting down');
  return { receive: () => {}, closed: () => {} };
}
