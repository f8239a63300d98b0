import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import {
  CloseCode,
  DocErrorCode,
  type DocMessage,
  decodeFrame,
  decodeYMessage,
  encodeAck,
  encodeDoc,
  encodeDocError,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  type Frame,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  ProtocolError,
  SyncStep,
  splitDocMessages,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { docNameProblem } from './docNames.ts';
import type { Room, RoomMember } from './Room.ts';
import type { SessionContext } from './sessionContext.ts';

type Work =
  | { type: typeof FrameType.Docs; messages: { docName: string; message: YMessage }[] }
  | { type: typeof FrameType.Leave; docName: string };

interface Subscription {
  room: Room;
  member: RoomMember;
  /** The room's awareness states have been sent since this subscription began. */
  greeted: boolean;
}

/** Frames queued while rooms load; beyond this the peer is flooding, not syncing. */
const MAX_QUEUED_FRAMES = 10_000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The relay side of one Lattice multiplexed socket (`/sync`): Hello handshake,
 * batched replies per incoming `Docs` frame, subscriptions by first message,
 * `Leave`, heartbeat answers and per-doc acks after durable commit.
 */
export class MultiplexedSession implements ConnectionHandler {
  readonly #conn: RelayConnection;
  readonly #ctx: SessionContext;
  #state: 'handshake' | 'open' | 'closed' = 'handshake';
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #queue: Work[] = [];
  #pumping = false;
  readonly #subs = new Map<string, Subscription>();
  /** Update-bearing messages received per doc on this socket (never reset, also across Leave). */
  readonly #seqs = new Map<string, number>();

  constructor(conn: RelayConnection, ctx: SessionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#handshakeTimer = setTimeout(() => {
      this.#handshakeTimer = undefined;
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

  receive(data: Uint8Array): void {
    if (this.#state === 'closed') return;
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.close(CloseCode.MalformedFrame, errorMessage(err));
      return;
    }
    if (this.#state === 'handshake') {
      this.#handshake(frame);
      return;
    }
    switch (frame.type) {
      case FrameType.Heartbeat:
        // Answered at once, ahead of queued work: liveness must not wait for room loads.
        if (!frame.reply) this.#send(encodeHeartbeat(frame.nonce, true));
        return;
      case FrameType.Docs: {
        const messages: { docName: string; message: YMessage }[] = [];
        for (const m of frame.messages) {
          try {
            messages.push({ docName: m.docName, message: decodeYMessage(m.message) });
          } catch (err) {
            this.close(CloseCode.MalformedFrame, `doc ${m.docName}: ${errorMessage(err)}`);
            return;
          }
        }
        this.#enqueue({ type: FrameType.Docs, messages });
        return;
      }
      case FrameType.Leave:
        this.#enqueue({ type: FrameType.Leave, docName: frame.docName });
        return;
      default:
        this.close(CloseCode.MalformedFrame, `unexpected frame type ${frame.type} from a client`);
    }
  }

  closed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#queue.length = 0;
    for (const sub of this.#subs.values()) sub.room.leave(sub.member);
    this.#subs.clear();
    this.#ctx.ended(this);
  }

  /** Closes the socket with `code` and leaves every room. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#ctx.log('session.close', { kind: 'multiplexed', code, reason });
    try {
      this.#conn.close(code, reason);
    } catch (err) {
      this.#ctx.log('session.close_failed', { error: errorMessage(err) });
    }
    this.closed();
  }

  #handshake(frame: Frame): void {
    if (frame.type !== FrameType.Hello) {
      this.close(CloseCode.MalformedFrame, 'first frame must be Hello');
      return;
    }
    const { hello } = frame;
    if (hello.version !== PROTOCOL_VERSION) {
      this.close(
        CloseCode.UnsupportedVersion,
        `protocol version ${hello.version} not supported (relay speaks ${PROTOCOL_VERSION})`,
      );
      return;
    }
    if (hello.role === 'relay') {
      this.close(CloseCode.MalformedFrame, 'Hello with role relay sent to a relay');
      return;
    }
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#state = 'open';
    this.#send(
      encodeHello({
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
        role: 'relay',
        id: this.#ctx.relayId,
      }),
    );
  }

  #enqueue(work: Work): void {
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      this.close(CloseCode.InternalError, 'too many frames queued while docs load');
      return;
    }
    this.#queue.push(work);
    void this.#pump();
  }

  /** Handles queued frames in order; runs synchronously while no room needs loading. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'open') {
        const work = this.#queue.shift();
        if (work === undefined) break;
        if (work.type === FrameType.Leave) {
          this.#leave(work.docName);
          continue;
        }
        const loading = this.#subscribeAll(work.messages);
        if (loading !== undefined) await loading;
        if (this.#state !== 'open') break;
        this.#handleDocs(work.messages);
      }
    } catch (err) {
      this.#ctx.log('session.error', { error: errorMessage(err) });
      this.close(CloseCode.InternalError, 'internal relay error');
    } finally {
      this.#pumping = false;
    }
  }

  /** Joins the rooms of docs not yet subscribed; `undefined` when there is nothing to wait for. */
  #subscribeAll(messages: readonly { docName: string }[]): Promise<unknown> | undefined {
    const joins: Promise<void>[] = [];
    const seen = new Set<string>();
    for (const { docName } of messages) {
      if (seen.has(docName) || this.#subs.has(docName)) continue;
      seen.add(docName);
      if (docNameProblem(docName) !== undefined) continue;
      const member: RoomMember = {
        send: (message) => this.#send(encodeDoc(docName, message)),
        ack: (seq, stateVector) => this.#send(encodeAck(docName, seq, stateVector)),
      };
      joins.push(
        this.#ctx.join(docName, member).then(
          (room) => {
            if (this.#state === 'closed') room.leave(member);
            else this.#subs.set(docName, { room, member, greeted: false });
          },
          () => {
            // Reported per message in #handleDocs: the doc stays unsubscribed.
          },
        ),
      );
    }
    return joins.length === 0 ? undefined : Promise.all(joins);
  }

  #handleDocs(messages: readonly { docName: string; message: YMessage }[]): void {
    // Replies grouped per doc, in order of first mention, so each doc's answer
    // reads SyncStep2, SyncStep1, awareness, as the session description says.
    const replies = new Map<string, Uint8Array[]>();
    const refused = new Set<string>();
    const fresh = new Set<string>();
    for (const { docName, message } of messages) {
      if (refused.has(docName)) continue;
      const sub = this.#subs.get(docName);
      if (sub === undefined) {
        refused.add(docName);
        const problem = docNameProblem(docName);
        this.#send(
          problem === undefined
            ? encodeDocError(docName, DocErrorCode.Internal, 'doc could not be loaded')
            : encodeDocError(docName, DocErrorCode.InvalidDocName, problem),
        );
        continue;
      }
      let out = replies.get(docName);
      if (out === undefined) {
        out = [];
        replies.set(docName, out);
      }
      if (!sub.greeted) {
        sub.greeted = true;
        fresh.add(docName);
      }
      let seq: number | undefined;
      if (message.type === YMessageType.Sync && message.step !== SyncStep.Step1) {
        seq = (this.#seqs.get(docName) ?? 0) + 1;
        this.#seqs.set(docName, seq);
      }
      try {
        out.push(...sub.room.receive(sub.member, message, seq));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.close(CloseCode.MalformedFrame, `doc ${docName}: ${err.message}`);
        return;
      }
      if (message.type === YMessageType.Sync && message.step === SyncStep.Step1) {
        out.push(sub.room.syncStep1());
      }
    }
    const batch: DocMessage[] = [];
    for (const [docName, out] of replies) {
      if (fresh.has(docName)) {
        const states = this.#subs.get(docName)?.room.awarenessStates();
        if (states !== undefined) out.push(states);
      }
      for (const message of out) batch.push({ docName, message });
    }
    for (const frame of splitDocMessages(batch)) this.#send(encodeDocs(frame));
  }

  #leave(docName: string): void {
    const sub = this.#subs.get(docName);
    if (sub === undefined) return;
    this.#subs.delete(docName);
    sub.room.leave(sub.member);
  }

  #send(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    try {
      this.#conn.send(frame);
    } catch (err) {
      this.#ctx.log('session.send_failed', { error: errorMessage(err) });
    }
  }
}
