import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import {
  CloseCode,
  type DigestDocEntry,
  type DocMessage,
  decodeFrame,
  decodeYMessage,
  encodeDigest,
  encodeDigestDocs,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  encodeSyncStep1,
  encodeSyncUpdate,
  type Frame,
  FrameType,
  type HelloInfo,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  ProtocolError,
  SyncStep,
  splitDocMessages,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import type { PeerProof } from './access.ts';
import { connLog } from './connLog.ts';
import { bucketOf, type DigestIndex } from './DigestIndex.ts';
import { docNameProblem } from './docNames.ts';
import { sameBytes } from './fingerprint.ts';
import { InboundAcks } from './InboundAcks.ts';
import type { PeerDirection, PeerLink } from './PeerLink.ts';
import type { RelayLog, Room, RoomMember } from './Room.ts';

/** What a peer session needs from the relay core that owns it. */
export interface PeerContext {
  readonly relayId: string;
  readonly publicUrl: string | null;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Periodic anti-entropy rounds (0: only on connect). */
  readonly antiEntropyIntervalMs: number;
  readonly log: RelayLog;
  /** Cluster-secret proofs: sent in inbound Hellos, required from the relay an outbound link dialed. */
  readonly peerProof: PeerProof | undefined;
  readonly index: DigestIndex;
  /** Settles once `index` covers every stored doc; digests wait for it. */
  whenIndexed(): Promise<void>;
  join(docName: string, member: RoomMember): Promise<Room>;
  /** The doc's live state vector when its room is loaded, else the durable one, else empty. */
  stateVector(docName: string): Uint8Array;
  /** The member speaks for this session in rooms (pushes skip their origin). */
  registerMember(member: RoomMember, session: PeerSession): void;
  /**
   * An outbound link's peer proved it is `relayId`. Also called when the link
   * closed while the proof was checked: the peer may have closed it as a
   * duplicate, and the dialer must still learn whom its url reaches.
   */
  identified(session: PeerSession, relayId: string): void;
  /** Handshake done; `false` when the core closed this session as a duplicate. */
  opened(session: PeerSession): boolean;
  ended(session: PeerSession): void;
  /** The peer durably holds `stateVector` of `docName`. */
  peerHolds(session: PeerSession, docName: string, stateVector: Uint8Array): void;
  /** The peer's digest matched ours in every bucket but `differing`. */
  digestCompared(session: PeerSession, differing: readonly number[]): void;
  /** A digest exchange completed; bytes of its `Digest` + `DigestDocs` frames. */
  antiEntropyDone(session: PeerSession, bytes: { sent: number; received: number }): void;
}

const MAX_QUEUED_FRAMES = 10_000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isSync(message: YMessage): boolean {
  return message.type === YMessageType.Sync;
}

/**
 * One relay↔relay link over a multiplexed socket, symmetric once the Hellos
 * are exchanged: each side pushes what its rooms apply as numbered `Update`s
 * and acks the other's numbered messages after its durable commit (so each
 * learns what the other holds — cluster acks and lag); anti-entropy rounds
 * exchange `Digest`/`DigestDocs` and then `SyncStep1` for the docs that
 * differ; heartbeats both ways detect a half-open link.
 *
 * Outbound (this relay dialed): sends `Hello {role: 'peer'}` at once and
 * expects a relay Hello. Inbound: created after the peer's Hello was read,
 * answers with a relay Hello.
 */
export class PeerSession implements PeerLink, ConnectionHandler {
  readonly direction: PeerDirection;
  readonly #conn: RelayConnection;
  readonly #ctx: PeerContext;
  /** `ctx.log` with this connection's id (inbound links). */
  readonly #log: RelayLog;
  readonly #onEnded: (() => void) | undefined;
  #state: 'handshake' | 'open' | 'closed' = 'handshake';
  /** Outbound: frames that arrived while the peer's proof was being checked (replayed after). */
  #unverified: Uint8Array[] | null = null;
  #peerRelayId: string | null = null;
  #peerUrl: string | null = null;
  /** Code this session was closed with, by either side when known. */
  closeCode: number | null = null;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #antiEntropyTimer: ReturnType<typeof setInterval> | undefined;
  #lastHeard = performance.now();
  #nonce = 0;
  readonly #queue: Required<DocMessage>[][] = [];
  #pumping = false;
  readonly #members = new Map<string, RoomMember>();
  /** Our numbering of what we send, per doc. */
  readonly #outSeq = new Map<string, number>();
  /** The peer's numbered messages, acked once all up to a number are durable. */
  readonly #acks = new InboundAcks((frame) => this.#send(frame));
  #outbox: DocMessage[] = [];
  #outboxQueued = false;
  // Anti-entropy round accounting.
  #aeSent = 0;
  #aeReceived = 0;
  #aeDocsSent = false;
  #aeDocsReceived = false;
  /** Digest work runs in order, after the index is complete. */
  #aeChain: Promise<void> = Promise.resolve();

  constructor(
    conn: RelayConnection,
    ctx: PeerContext,
    direction: PeerDirection,
    options: { hello?: HelloInfo; onEnded?: () => void } = {},
  ) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#log = connLog(ctx.log, conn);
    this.direction = direction;
    this.#onEnded = options.onEnded;
    if (direction === 'outbound') {
      this.#send(this.#hello('peer'));
      this.#handshakeTimer = setTimeout(() => {
        this.#handshakeTimer = undefined;
        this.close(CloseCode.HandshakeTimeout, 'peer relay sent no Hello');
      }, ctx.handshakeTimeoutMs);
    } else {
      const hello = options.hello;
      if (hello === undefined) throw new Error('an inbound peer session needs the peer Hello');
      this.#send(this.#hello('relay'));
      // Defer so the acceptor has returned this handler before the core may close it.
      queueMicrotask(() => this.#open(hello));
    }
  }

  get peerRelayId(): string | null {
    return this.#peerRelayId;
  }

  get peerUrl(): string | null {
    return this.#peerUrl;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  #hello(role: 'peer' | 'relay'): Uint8Array {
    const hello: HelloInfo = {
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      role,
      id: this.#ctx.relayId,
    };
    if (this.#ctx.publicUrl !== null) hello.url = this.#ctx.publicUrl;
    if (role === 'relay' && this.#ctx.peerProof !== undefined) {
      hello.proof = this.#ctx.peerProof.make();
    }
    return encodeHello(hello);
  }

  #open(hello: HelloInfo): void {
    if (this.#state !== 'handshake') return;
    if (hello.id === undefined || hello.id === '') {
      this.close(CloseCode.MalformedFrame, 'peer Hello without a relay id');
      return;
    }
    if (hello.id === this.#ctx.relayId) {
      this.close(CloseCode.DuplicatePeer, 'this is a link to the relay itself');
      return;
    }
    this.#peerRelayId = hello.id;
    this.#peerUrl = hello.url ?? null;
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#state = 'open';
    this.#lastHeard = performance.now();
    if (!this.#ctx.opened(this)) return;
    if (this.#ctx.heartbeatIntervalMs > 0) {
      this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.#ctx.heartbeatIntervalMs);
    }
    if (this.#ctx.antiEntropyIntervalMs > 0) {
      this.#antiEntropyTimer = setInterval(
        () => this.startAntiEntropy(),
        this.#ctx.antiEntropyIntervalMs,
      );
    }
    this.#log('peer.open', {
      peer: this.#peerRelayId,
      direction: this.direction,
      url: this.#peerUrl,
    });
    // The dialer starts the first round; the acceptor answers it with its own digest.
    if (this.direction === 'outbound') this.startAntiEntropy();
  }

  /** Runs `step` after earlier digest steps and once the index is complete. */
  #afterIndex(step: () => void): void {
    this.#aeChain = this.#aeChain
      .then(() => this.#ctx.whenIndexed())
      .then(() => {
        if (this.#state === 'open') step();
      })
      .catch((err: unknown) => {
        this.#log('peer.error', { peer: this.#peerRelayId, error: errorMessage(err) });
        this.close(CloseCode.InternalError, 'internal relay error');
      });
  }

  receive(data: Uint8Array): void {
    if (this.#state === 'closed') return;
    if (this.#unverified !== null) {
      if (this.#unverified.length >= MAX_QUEUED_FRAMES) {
        this.close(CloseCode.InternalError, 'too many peer frames before its proof was checked');
      } else {
        this.#unverified.push(data);
      }
      return;
    }
    this.#lastHeard = performance.now();
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.close(CloseCode.MalformedFrame, errorMessage(err));
      return;
    }
    if (this.#state === 'handshake') {
      if (frame.type !== FrameType.Hello || frame.hello.role !== 'relay') {
        this.close(CloseCode.MalformedFrame, 'peer relay did not answer with a relay Hello');
        return;
      }
      if (frame.hello.version !== PROTOCOL_VERSION) {
        this.close(
          CloseCode.UnsupportedVersion,
          `peer speaks protocol version ${frame.hello.version}`,
        );
        return;
      }
      if (this.#ctx.peerProof !== undefined) {
        this.#verify(this.#ctx.peerProof, frame.hello);
        return;
      }
      this.#open(frame.hello);
      return;
    }
    switch (frame.type) {
      case FrameType.Hello:
        return;
      case FrameType.Heartbeat:
        if (!frame.reply) this.#send(encodeHeartbeat(frame.nonce, true));
        return;
      case FrameType.Docs:
        if (this.#queue.length >= MAX_QUEUED_FRAMES) {
          this.close(CloseCode.InternalError, 'too many peer frames queued while docs load');
          return;
        }
        this.#queue.push(frame.messages);
        void this.#pump();
        return;
      case FrameType.Ack:
        this.#onAck(frame.docName, frame.seq, frame.stateVector);
        return;
      case FrameType.Digest: {
        const { buckets, reply } = frame;
        this.#afterIndex(() => this.#onDigest(buckets, reply, data.length));
        return;
      }
      case FrameType.DigestDocs: {
        const { buckets, entries } = frame;
        this.#afterIndex(() => {
          this.#aeReceived += data.length;
          this.#onDigestDocs(buckets, entries);
        });
        return;
      }
      default:
        this.close(CloseCode.MalformedFrame, `unexpected frame type ${frame.type} on a peer link`);
    }
  }

  /**
   * The relay we dialed must prove the cluster secret before the link is
   * used: otherwise anyone at that address could feed us docs or read ours.
   */
  #verify(peerProof: PeerProof, hello: HelloInfo): void {
    this.#unverified = [];
    const proof = hello.proof;
    const check =
      proof === undefined || hello.id === undefined
        ? Promise.resolve(false)
        : peerProof.verify(proof, hello.id).catch(() => false);
    void check.then((ok) => {
      const queued = this.#unverified ?? [];
      this.#unverified = null;
      if (ok && hello.id !== undefined && hello.id !== this.#ctx.relayId) {
        this.#ctx.identified(this, hello.id);
      }
      if (this.#state !== 'handshake') return;
      if (!ok) {
        this.close(
          CloseCode.Unauthorized,
          proof === undefined
            ? 'peer relay sent no cluster-secret proof'
            : 'peer relay failed the cluster-secret proof',
        );
        return;
      }
      this.#open(hello);
      for (const frame of queued) this.receive(frame);
    });
  }

  /** The connection closed (by the peer or the network). */
  closed(): void {
    this.#end();
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.closeCode ??= code;
    this.#log('peer.close', {
      peer: this.#peerRelayId,
      direction: this.direction,
      code,
      reason,
    });
    try {
      this.#conn.close(code, reason);
    } catch (err) {
      this.#log('peer.close_failed', { error: errorMessage(err) });
    }
    this.#end();
  }

  #end(): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    for (const timer of [this.#handshakeTimer]) if (timer !== undefined) clearTimeout(timer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#antiEntropyTimer !== undefined) clearInterval(this.#antiEntropyTimer);
    this.#handshakeTimer = undefined;
    this.#heartbeatTimer = undefined;
    this.#antiEntropyTimer = undefined;
    this.#queue.length = 0;
    this.#unverified = null;
    this.#outbox = [];
    if (wasOpen) this.#ctx.ended(this);
    this.#onEnded?.();
  }

  #heartbeat(): void {
    const silentFor = performance.now() - this.#lastHeard;
    if (silentFor >= this.#ctx.heartbeatTimeoutMs) {
      this.close(CloseCode.HeartbeatTimeout, `peer silent for ${Math.round(silentFor / 1000)} s`);
      return;
    }
    this.#nonce = (this.#nonce + 1) % 0x7fffffff;
    this.#send(encodeHeartbeat(this.#nonce, false));
  }

  // ---- push ----

  push(docName: string, update: Uint8Array): void {
    this.#enqueueOut(docName, encodeSyncUpdate(update));
  }

  /** Queues a numbered sync message; everything queued in one microtask leaves in bounded frames. */
  #enqueueOut(docName: string, message: Uint8Array): void {
    if (this.#state !== 'open') return;
    const seq = (this.#outSeq.get(docName) ?? 0) + 1;
    this.#outSeq.set(docName, seq);
    this.#outbox.push({ docName, seq, message });
    if (this.#outboxQueued) return;
    this.#outboxQueued = true;
    queueMicrotask(() => {
      this.#outboxQueued = false;
      const out = this.#outbox;
      this.#outbox = [];
      for (const batch of splitDocMessages(out)) this.#send(encodeDocs(batch));
    });
  }

  #onAck(docName: string, seq: number, stateVector: Uint8Array): void {
    // An ack naming a number never sent on this link says nothing.
    if (seq === 0 || seq > (this.#outSeq.get(docName) ?? 0)) return;
    this.#ctx.peerHolds(this, docName, stateVector);
  }

  // ---- anti-entropy ----

  startAntiEntropy(): void {
    this.#afterIndex(() => {
      this.#resetRound();
      this.#sendDigestFrame(encodeDigest(this.#ctx.index.digest(), false));
    });
  }

  #resetRound(): void {
    this.#aeSent = 0;
    this.#aeReceived = 0;
    this.#aeDocsSent = false;
    this.#aeDocsReceived = false;
  }

  #sendDigestFrame(frame: Uint8Array): void {
    this.#aeSent += frame.length;
    this.#send(frame);
  }

  #onDigest(buckets: Uint8Array, reply: boolean, bytes: number): void {
    if (!reply) {
      // The peer started a round: take part with our own digest.
      this.#resetRound();
      this.#sendDigestFrame(encodeDigest(this.#ctx.index.digest(), true));
    }
    this.#aeReceived += bytes;
    const differing = this.#ctx.index.differingBuckets(buckets);
    this.#sendDigestFrame(encodeDigestDocs(differing, this.#ctx.index.entriesIn(differing)));
    this.#aeDocsSent = true;
    this.#ctx.digestCompared(this, differing);
    this.#roundProgress();
  }

  #onDigestDocs(buckets: readonly number[], entries: readonly DigestDocEntry[]): void {
    const index = this.#ctx.index;
    const wanted = new Set(buckets);
    const theirs = new Map<string, DigestDocEntry>();
    for (const entry of entries) {
      // Only docs of the listed buckets count; anything else is not part of the comparison.
      if (wanted.has(bucketOf(entry.docName)) && docNameProblem(entry.docName) === undefined) {
        theirs.set(entry.docName, entry);
      }
    }
    const differing = new Set<string>();
    for (const b of wanted) {
      for (const docName of index.namesIn(b)) {
        const their = theirs.get(docName);
        const mine = index.get(docName);
        if (their === undefined || mine === undefined) differing.add(docName);
        else if (!sameBytes(their.fingerprint, mine.fingerprint)) differing.add(docName);
      }
    }
    for (const [docName, their] of theirs) {
      if (!index.has(docName)) differing.add(docName);
      try {
        this.#ctx.peerHolds(this, docName, their.stateVector);
      } catch (err) {
        this.close(CloseCode.MalformedFrame, `bad state vector in digest: ${errorMessage(err)}`);
        return;
      }
    }
    // Ask for what we lack; the peer does the same from its side of the round.
    for (const docName of differing) {
      this.#enqueueOut(docName, encodeSyncStep1(this.#ctx.stateVector(docName)));
    }
    this.#aeDocsReceived = true;
    if (differing.size > 0) {
      this.#log('peer.anti_entropy', {
        peer: this.#peerRelayId,
        differingDocs: differing.size,
      });
    }
    this.#roundProgress();
  }

  #roundProgress(): void {
    if (!this.#aeDocsSent || !this.#aeDocsReceived) return;
    const bytes = { sent: this.#aeSent, received: this.#aeReceived };
    this.#resetRound();
    this.#ctx.antiEntropyDone(this, bytes);
  }

  // ---- incoming doc messages ----

  #member(docName: string): RoomMember {
    let member = this.#members.get(docName);
    if (member === undefined) {
      member = {
        // Live updates reach peers through the core's push, not as room members.
        send: () => {},
        peer: true,
        ack: (seqs, stateVector) => this.#durable(docName, seqs, stateVector),
      };
      this.#members.set(docName, member);
      this.#ctx.registerMember(member, this);
    }
    return member;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'open') {
        const messages = this.#queue.shift();
        if (messages === undefined) break;
        await this.#handle(messages);
      }
    } catch (err) {
      this.#log('peer.error', { peer: this.#peerRelayId, error: errorMessage(err) });
      this.close(CloseCode.InternalError, 'internal relay error');
    } finally {
      this.#pumping = false;
    }
  }

  async #handle(messages: readonly Required<DocMessage>[]): Promise<void> {
    const rooms = new Map<string, Room | null>();
    for (const { docName } of messages) {
      if (rooms.has(docName)) continue;
      const problem = docNameProblem(docName);
      if (problem !== undefined) {
        this.close(CloseCode.MalformedFrame, `peer named an invalid doc: ${problem}`);
        return;
      }
      try {
        rooms.set(docName, await this.#ctx.join(docName, this.#member(docName)));
      } catch (err) {
        // Not acked: the peer's next anti-entropy round offers it again.
        this.#log('peer.join_failed', { doc: docName, error: errorMessage(err) });
        rooms.set(docName, null);
      }
      if (this.#state !== 'open') break;
    }
    try {
      for (const { docName, seq, message: raw } of messages) {
        if (this.#state !== 'open') return;
        const room = rooms.get(docName);
        if (room === undefined || room === null) continue;
        let message: YMessage;
        try {
          message = decodeYMessage(raw);
        } catch (err) {
          this.close(CloseCode.MalformedFrame, `doc ${docName}: ${errorMessage(err)}`);
          return;
        }
        const received = this.#acks.received(docName, seq);
        if (received === 'duplicate') continue;
        if (received === 'overflow') {
          this.close(CloseCode.InternalError, `too many messages out of order for ${docName}`);
          return;
        }
        if (!isSync(message)) {
          // Awareness is not gossiped between relays; numbered or not, it changes nothing here.
          if (seq > 0) this.#durable(docName, [seq]);
          continue;
        }
        let replies: Uint8Array[];
        try {
          replies = room.receive(this.#member(docName), message, seq > 0 ? seq : undefined);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          this.close(CloseCode.MalformedFrame, `doc ${docName}: ${err.message}`);
          return;
        }
        if (message.type === YMessageType.Sync && message.step === SyncStep.Step1) {
          for (const reply of replies) this.#enqueueOut(docName, reply);
        }
      }
    } finally {
      for (const [docName, room] of rooms) {
        const member = this.#members.get(docName);
        if (room !== null && member !== undefined) room.leave(member);
      }
    }
  }

  /** Messages `seqs` of `docName` are durable here (without `stateVector`: stored state unchanged). */
  #durable(docName: string, seqs: readonly number[], stateVector?: Uint8Array): void {
    // A commit may finish after the link ended: nothing is acked on it then.
    if (this.#state !== 'open') return;
    this.#acks.durable(docName, seqs, stateVector);
  }

  #send(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    try {
      this.#conn.send(frame);
    } catch (err) {
      this.#log('peer.send_failed', { error: errorMessage(err) });
    }
  }
}
