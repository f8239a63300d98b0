import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import {
  CloseCode,
  DocErrorCode,
  type DocMessage,
  decodeFrame,
  decodeYMessage,
  encodeClusterAck,
  encodeDoc,
  encodeDocError,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  type Frame,
  FrameType,
  HELLO_FEATURE_ACKS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  ProtocolError,
  SyncStep,
  splitDocMessages,
  TARGET_BATCH_BYTES,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { type Access, mayRead, mayWrite } from './access.ts';
import { connLog } from './connLog.ts';
import { docNameProblem } from './docNames.ts';
import { InboundAcks } from './InboundAcks.ts';
import type { RelayLog, Room, RoomMember } from './Room.ts';
import { roomContains } from './roomContains.ts';
import type { SessionContext } from './sessionContext.ts';
import { checkYMessage, UpdateRejectedError } from './updateGuard.ts';

interface Incoming {
  docName: string;
  seq: number;
  message: YMessage;
  /** When its frame arrived (`performance.now()`): ack latency counts from here. */
  at: number;
}

interface DocsWork {
  type: typeof FrameType.Docs;
  messages: Incoming[];
  /** Index of the next message to handle (a frame is handled in parts when the peer is slow). */
  next: number;
  /** Handle messages before this index only (the rest wait for their rooms to load). */
  until: number;
  /** Docs this frame refused (reported once). */
  refused: Set<string>;
}

type Work = DocsWork | { type: typeof FrameType.Leave; docName: string; seq: number };

interface Subscription {
  room: Room;
  member: RoomMember;
  /** The room's awareness states have been sent since this subscription began. */
  greeted: boolean;
  /** Joined only to store messages sent before a Leave; left again after the frame. */
  transient: boolean;
}

/** Messages of a frame answered per slice while its rooms load (see `#pump`). */
const JOIN_SLICE_MESSAGES = 128;

/** Frames queued while rooms load; beyond this the peer is flooding, not syncing. */
const MAX_QUEUED_FRAMES = 10_000;
/** Stop reading the socket (TCP backpressure) while this many frames wait… */
const QUEUE_HIGH_WATER = 256;
/** …and read again once the queue is down to this. */
const QUEUE_LOW_WATER = 64;
/** Replies pause while more than this is queued toward the peer… */
const HIGH_WATER_BYTES = 2 * TARGET_BATCH_BYTES;
/** …and resume once the queue drained below this. */
const LOW_WATER_BYTES = TARGET_BATCH_BYTES;
const DRAIN_POLL_MS = 2;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The last `Docs` frame built by `docFrame`. A room fans one update (one
 * `message` array) out to every member in a loop, and the frame bytes are the
 * same for every multiplexed member of that doc: building it once per room
 * update instead of once per member saved ~3 % of the relay's CPU at 500
 * clients / 100 docs (bench/README.md, "Fan-out"). Keyed by identity: sent
 * messages are never mutated.
 */
let lastDocFrame: { docName: string; message: Uint8Array; frame: Uint8Array } | undefined;

/** `encodeDoc(docName, message)` (unnumbered), reusing the previous result for the same message. */
function docFrame(docName: string, message: Uint8Array): Uint8Array {
  if (lastDocFrame?.message !== message || lastDocFrame.docName !== docName) {
    lastDocFrame = { docName, message, frame: encodeDoc(docName, message) };
  }
  return lastDocFrame.frame;
}

function isSync(message: YMessage): boolean {
  return message.type === YMessageType.Sync;
}

function bearsUpdate(message: YMessage): boolean {
  return message.type === YMessageType.Sync && message.step !== SyncStep.Step1;
}

/**
 * The relay side of one Lattice multiplexed socket (`/sync`): Hello handshake,
 * streamed replies per incoming `Docs` frame (bounded frames, paced by the
 * socket's backlog), subscriptions by first message, `Leave`, heartbeats in
 * both directions, and per-doc acks of numbered messages after durable commit.
 */
export class MultiplexedSession implements ConnectionHandler {
  /** What the relay verified about the other end (token, cluster secret, or auth off). */
  readonly access: Access;
  readonly #conn: RelayConnection;
  readonly #ctx: SessionContext;
  /** `ctx.log` with this connection's id. */
  readonly #log: RelayLog;
  #state: 'handshake' | 'open' | 'closed' = 'handshake';
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #lastHeard = performance.now();
  #nonce = 0;
  readonly #queue: Work[] = [];
  /** Reading from the socket is paused because the queue is long. */
  #readPaused = false;
  /** Docs refused in the current frame because the socket has the maximum subscribed. */
  readonly #tooManyDocs = new Set<string>();
  #pumping = false;
  /** The front end's `Hello` listed `HELLO_FEATURE_ACKS`: acks go out in `Acks` frames. */
  #batchedAcks = false;
  readonly #subs = new Map<string, Subscription>();
  /** A join since the last frame was handled may have left a transient subscription. */
  #joinedTransient = false;
  /** Never reset, also across Leave: numbers are per connection and doc. */
  readonly #acks: InboundAcks;
  /** Per doc: `seq` of the last honoured Leave (absent: never left). */
  readonly #leftAt = new Map<string, number>();
  /** Docs already told `DocError(ReadOnly)` (once per doc per socket). */
  readonly #readOnlyTold = new Set<string>();
  /** A relay that said `Hello {role: 'peer'}`: every later frame belongs to its peer session. */
  #peer: ConnectionHandler | null = null;

  constructor(conn: RelayConnection, ctx: SessionContext, access: Access) {
    this.access = access;
    this.#conn = conn;
    this.#ctx = ctx;
    this.#log = connLog(ctx.log, conn);
    this.#acks = new InboundAcks(
      (frame) => this.#send(frame),
      undefined,
      (seconds) => ctx.metrics.ackLatency(seconds),
      () => this.#batchedAcks,
    );
    this.#handshakeTimer = setTimeout(() => {
      this.#handshakeTimer = undefined;
      this.#ctx.metrics.rejected('handshake_timeout');
      this.close(
        CloseCode.HandshakeTimeout,
        `no Hello within ${Math.round(ctx.handshakeTimeoutMs / 1000)} s`,
      );
    }, ctx.handshakeTimeoutMs);
  }

  /** `true` once the socket is closed (by either side). */
  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** `true` once a `Hello {role: 'peer'}` handed the socket to a peer session. */
  get isPeer(): boolean {
    return this.#peer !== null;
  }

  receive(data: Uint8Array): void {
    if (this.#state === 'closed') return;
    if (this.#peer !== null) {
      this.#peer.receive(data);
      return;
    }
    this.#lastHeard = performance.now();
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.#ctx.metrics.rejected('malformed');
      this.close(CloseCode.MalformedFrame, errorMessage(err));
      return;
    }
    if (this.#state === 'handshake') {
      this.#handshake(frame);
      return;
    }
    switch (frame.type) {
      case FrameType.Hello:
        // A duplicated Hello (the fault model allows duplicates) changes nothing.
        return;
      case FrameType.Heartbeat:
        // Answered at once, ahead of queued work: liveness must not wait for room loads.
        if (!frame.reply) this.#send(encodeHeartbeat(frame.nonce, true));
        return;
      case FrameType.Docs: {
        const messages: Incoming[] = [];
        const at = performance.now();
        for (const m of frame.messages) {
          try {
            const message = decodeYMessage(m.message);
            // Checked before anything reads the payload (read-only test, room, queue).
            checkYMessage(message);
            messages.push({ docName: m.docName, seq: m.seq, message, at });
          } catch (err) {
            this.#reject(err, `doc ${m.docName}`);
            return;
          }
        }
        this.#enqueue({
          type: FrameType.Docs,
          messages,
          next: 0,
          until: messages.length,
          refused: new Set(),
        });
        return;
      }
      case FrameType.Leave:
        this.#enqueue({ type: FrameType.Leave, docName: frame.docName, seq: frame.seq });
        return;
      default:
        this.#ctx.metrics.rejected('malformed');
        this.close(CloseCode.MalformedFrame, `unexpected frame type ${frame.type} from a client`);
    }
  }

  closed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#handshakeTimer = undefined;
    this.#heartbeatTimer = undefined;
    this.#queue.length = 0;
    for (const sub of this.#subs.values()) sub.room.leave(sub.member);
    this.#subs.clear();
    this.#peer?.closed();
    this.#ctx.ended(this);
  }

  /** Closes the socket for input it refuses: hostile input with its own code, anything else `MalformedFrame`. */
  #reject(err: unknown, where: string): void {
    const rejected = err instanceof UpdateRejectedError;
    this.#ctx.metrics.rejected(rejected ? err.rejectReason : 'malformed');
    this.close(
      rejected ? err.closeCode : CloseCode.MalformedFrame,
      `${where}: ${errorMessage(err)}`,
    );
  }

  /** Closes the socket with `code` and leaves every room. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#log('session.close', { kind: 'multiplexed', code, reason });
    try {
      this.#conn.close(code, reason);
    } catch (err) {
      this.#log('session.close_failed', { error: errorMessage(err) });
    }
    this.closed();
  }

  #handshake(frame: Frame): void {
    if (frame.type !== FrameType.Hello) {
      this.#ctx.metrics.rejected('malformed');
      this.close(CloseCode.MalformedFrame, 'first frame must be Hello');
      return;
    }
    const { hello } = frame;
    if (hello.version !== PROTOCOL_VERSION) {
      this.#ctx.metrics.rejected('unsupported_version');
      this.close(
        CloseCode.UnsupportedVersion,
        `protocol version ${hello.version} not supported (relay speaks ${PROTOCOL_VERSION})`,
      );
      return;
    }
    if (hello.role === 'relay') {
      this.#ctx.metrics.rejected('malformed');
      this.close(CloseCode.MalformedFrame, 'Hello with role relay sent to a relay');
      return;
    }
    const peerAllowed =
      this.access.kind === 'peer' || (this.access.kind === 'open' && this.#ctx.openPeers);
    if (hello.role === 'peer' ? !peerAllowed : this.access.kind === 'peer') {
      this.#ctx.metrics.rejected('forbidden');
      this.close(
        CloseCode.Forbidden,
        hello.role === 'peer'
          ? 'peer links need the cluster secret'
          : 'peer credentials cannot open a client session',
      );
      return;
    }
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#state = 'open';
    this.#batchedAcks = hello.features?.includes(HELLO_FEATURE_ACKS) === true;
    if (hello.role === 'peer') {
      // A peer relay: its session answers the Hello and runs the link (heartbeats too).
      this.#peer = this.#ctx.acceptPeer(this.#conn, hello, () => this.closed());
      return;
    }
    this.#send(
      encodeHello({
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
        role: 'relay',
        id: this.#ctx.relayId,
        access: this.access.kind === 'client' ? this.access.role : 'full',
      }),
    );
    if (this.#ctx.heartbeatIntervalMs > 0) {
      this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.#ctx.heartbeatIntervalMs);
    }
  }

  #heartbeat(): void {
    const silentFor = performance.now() - this.#lastHeard;
    if (silentFor >= this.#ctx.heartbeatTimeoutMs) {
      this.#ctx.metrics.rejected('heartbeat_timeout');
      this.close(CloseCode.HeartbeatTimeout, `nothing heard for ${Math.round(silentFor / 1000)} s`);
      return;
    }
    this.#nonce = (this.#nonce + 1) % 0x7fffffff;
    this.#send(encodeHeartbeat(this.#nonce, false));
  }

  #enqueue(work: Work): void {
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      this.close(CloseCode.InternalError, 'too many frames queued while docs load');
      return;
    }
    this.#queue.push(work);
    if (!this.#readPaused && this.#queue.length >= QUEUE_HIGH_WATER && this.#conn.pause) {
      this.#readPaused = true;
      this.#conn.pause();
    }
    void this.#pump();
  }

  /** Handles queued frames in order; runs synchronously while no room loads and the socket keeps up. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'open') {
        const work = this.#queue.shift();
        if (this.#readPaused && this.#queue.length <= QUEUE_LOW_WATER) {
          this.#readPaused = false;
          this.#conn.resume?.();
        }
        if (work === undefined) break;
        if (work.type === FrameType.Leave) {
          this.#leave(work.docName, work.seq);
          continue;
        }
        const joins = this.#subscribeAll(work.messages);
        // A frame that joins many rooms (a fresh device subscribing to a whole
        // workspace) is answered in slices as their rooms load: waiting for
        // every room first held the first answer back ~230 ms at 1,000 docs
        // (bench `coldload`), while the front end sat idle.
        const count = work.messages.length;
        for (let from = 0; from < count; ) {
          let to = joins === undefined ? count : Math.min(count, from + JOIN_SLICE_MESSAGES);
          if (joins !== undefined) {
            const loading = new Set<Promise<void>>();
            for (let i = from; i < to; i++) {
              const join = joins.get(work.messages[i]!.docName);
              if (join !== undefined) loading.add(join);
            }
            if (loading.size > 0) await Promise.all(loading);
            // On through the messages whose rooms are in already: no smaller frames than needed.
            while (to < count && !joins.has(work.messages[to]!.docName)) to++;
          }
          work.until = to;
          for (;;) {
            if (this.#state !== 'open') return;
            const backlog = this.#handleDocs(work);
            if (backlog === undefined) break;
            await backlog;
          }
          from = to;
        }
      }
    } catch (err) {
      this.#log('session.error', { error: errorMessage(err) });
      this.close(CloseCode.InternalError, 'internal relay error');
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Starts joining the rooms of docs not yet subscribed, all at once; the
   * joins still loading, by doc name, each settling (never rejecting) and
   * leaving the map once its room is in; `undefined` when nothing joins.
   */
  #subscribeAll(messages: readonly Incoming[]): Map<string, Promise<void>> | undefined {
    // Nearly every frame is about docs already subscribed: allocate nothing for those.
    let joins: Map<string, Promise<void>> | undefined;
    let seen: Set<string> | undefined;
    for (const { docName } of messages) {
      if (this.#subs.has(docName) || seen?.has(docName)) continue;
      seen ??= new Set();
      joins ??= new Map();
      seen.add(docName);
      if (docNameProblem(docName) !== undefined || !mayRead(this.access, docName)) continue;
      if (this.#subs.size + joins.size >= this.#ctx.maxDocsPerConnection) {
        this.#tooManyDocs.add(docName);
        continue;
      }
      const member: RoomMember = {
        send: (message) => this.#send(docFrame(docName, message)),
        ack: (seqs, stateVector) => this.#durable(docName, seqs, stateVector),
        clusterAck: (relayId, stateVector) => {
          if (this.#subs.get(docName)?.transient === false) {
            this.#send(encodeClusterAck(docName, relayId, stateVector));
          }
        },
      };
      const pending = joins;
      pending.set(
        docName,
        this.#ctx
          .join(docName, member)
          .then(
            (room) => {
              if (this.#state === 'closed') room.leave(member);
              // Transient until a message in this frame may subscribe it (see #handleDocs).
              else {
                this.#subs.set(docName, { room, member, greeted: false, transient: true });
                this.#joinedTransient = true;
              }
            },
            () => {
              // Reported per message in #handleDocs: the doc stays unsubscribed.
            },
          )
          .finally(() => pending.delete(docName)),
      );
    }
    return joins === undefined || joins.size === 0 ? undefined : joins;
  }

  /**
   * Handles the frame's messages from `work.next` on, sending replies in
   * bounded frames as they accumulate. Returns a promise to wait on (then call
   * again) when the peer has too much unread, `undefined` when done.
   */
  #handleDocs(work: DocsWork): Promise<void> | undefined {
    const { messages, refused } = work;
    let batch: DocMessage[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      for (const frame of splitDocMessages(batch)) this.#send(encodeDocs(frame));
      batch = [];
      batchBytes = 0;
    };
    while (work.next < work.until) {
      if (this.#state !== 'open') return undefined;
      const { docName, seq, message, at } = messages[work.next++]!;
      if (refused.has(docName)) continue;
      const sub = this.#subs.get(docName);
      if (sub === undefined) {
        refused.add(docName);
        const problem = docNameProblem(docName);
        if (problem === undefined && !mayRead(this.access, docName)) {
          this.#ctx.metrics.rejected('forbidden');
          this.#send(
            encodeDocError(docName, DocErrorCode.Forbidden, 'this token has no access to the doc'),
          );
          continue;
        }
        if (this.#tooManyDocs.delete(docName)) {
          this.#ctx.metrics.rejected('too_many_docs');
          this.#send(
            encodeDocError(
              docName,
              DocErrorCode.TooManyDocs,
              `at most ${this.#ctx.maxDocsPerConnection} docs per connection`,
            ),
          );
          continue;
        }
        this.#send(
          problem === undefined
            ? encodeDocError(docName, DocErrorCode.Internal, 'doc could not be loaded')
            : encodeDocError(docName, DocErrorCode.InvalidDocName, problem),
        );
        continue;
      }
      const received = this.#acks.received(docName, seq, at);
      // A copy of a message already handled: applying it again would change nothing.
      if (received === 'duplicate') continue;
      if (received === 'overflow') {
        this.close(CloseCode.InternalError, `too many messages out of order for ${docName}`);
        return undefined;
      }
      // After a Leave, only messages numbered later than it may subscribe again;
      // earlier ones overtook the Leave on the way and belong to the old subscription.
      // (A peer that numbers nothing, and so left with 0, may always come back.)
      const leftAt = this.#leftAt.get(docName) ?? -1;
      const subscribes = leftAt < 0 || seq > leftAt || (seq === 0 && leftAt === 0);
      if (subscribes) sub.transient = false;
      else if (!bearsUpdate(message)) {
        if (seq > 0) this.#durable(docName, [seq]);
        continue;
      }
      if (
        message.type === YMessageType.Sync &&
        message.step !== SyncStep.Step1 &&
        !mayWrite(this.access, docName) &&
        !roomContains(sub.room, message.payload)
      ) {
        // Dropped before the room sees it: never applied, stored, forwarded or acked.
        this.#ctx.metrics.rejected('read_only');
        if (!this.#readOnlyTold.has(docName)) {
          this.#readOnlyTold.add(docName);
          this.#send(
            encodeDocError(docName, DocErrorCode.ReadOnly, 'read-only access: update dropped'),
          );
        }
        continue;
      }
      let replies: Uint8Array[];
      try {
        replies = sub.room.receive(
          sub.member,
          message,
          seq > 0 && isSync(message) ? seq : undefined,
        );
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.#reject(err, `doc ${docName}`);
        return undefined;
      }
      if (seq > 0 && !isSync(message)) this.#durable(docName, [seq]);
      if (message.type === YMessageType.Sync && message.step === SyncStep.Step1) {
        replies.push(sub.room.syncStep1());
      }
      if (!sub.greeted && !sub.transient) {
        sub.greeted = true;
        const states = sub.room.awarenessStates();
        if (states !== undefined) replies.push(states);
        // What peer relays are known to hold already: the client counts copies from the start.
        for (const [relayId, sv] of this.#ctx.clusterAcks(docName)) {
          this.#send(encodeClusterAck(docName, relayId, sv));
        }
      }
      for (const reply of replies) {
        batch.push({ docName, message: reply });
        batchBytes += reply.length + docName.length;
      }
      if (batchBytes >= TARGET_BATCH_BYTES) {
        flush();
        if (this.#conn.bufferedAmount > HIGH_WATER_BYTES) return this.#drain();
      }
    }
    flush();
    // Only a frame that joined rooms can have left some transient (a socket may hold thousands of subscriptions).
    if (work.next >= messages.length && this.#joinedTransient) {
      this.#joinedTransient = false;
      for (const [docName, sub] of this.#subs) {
        if (sub.transient) this.#leaveRoom(docName, sub);
      }
    }
    return undefined;
  }

  /** Resolves once the peer has read most of what was sent (backpressure). */
  async #drain(): Promise<void> {
    while (this.#state === 'open' && this.#conn.bufferedAmount > LOW_WATER_BYTES) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  #leave(docName: string, seq: number): void {
    // A later message already arrived: this Leave was overtaken and is stale.
    if (this.#acks.maxSeen(docName) > seq) return;
    this.#leftAt.set(docName, Math.max(this.#leftAt.get(docName) ?? -1, seq));
    const sub = this.#subs.get(docName);
    if (sub !== undefined) this.#leaveRoom(docName, sub);
  }

  #leaveRoom(docName: string, sub: Subscription): void {
    this.#subs.delete(docName);
    sub.room.leave(sub.member);
  }

  /** Messages `seqs` of `docName` are durable (without `stateVector`: stored state unchanged). */
  #durable(docName: string, seqs: readonly number[], stateVector?: Uint8Array): void {
    // Rooms may report commits that finish after the socket closed: nothing to ack then.
    if (this.#state === 'closed') return;
    this.#acks.durable(docName, seqs, stateVector);
  }

  #send(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    try {
      this.#conn.send(frame);
    } catch (err) {
      this.#log('session.send_failed', { error: errorMessage(err) });
    }
  }
}
