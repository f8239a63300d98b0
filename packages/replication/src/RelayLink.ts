import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { accessProblemOf, type FrontLink, type LinkEvents, type LinkState } from './frontLink.ts';
import type { Transport, TransportCloseEvent, TransportFactory } from './ports.ts';
import {
  CloseCode,
  type DocMessage,
  decodeFrame,
  encodeDocs,
  encodeHeartbeat,
  encodeHello,
  encodeLeave,
  FrameType,
  HELLO_FEATURE_ACKS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  ProtocolError,
  splitDocMessages,
} from './protocol.ts';

/** A deadline timer firing this late means our event loop stalled, not that the relay went quiet. */
const STALL_MS = 50;

export type { LinkState } from './frontLink.ts';

export interface RelayLinkOptions extends LinkEvents {
  /** Multiplexed endpoints; the first is tried first, failures rotate through the rest. */
  urls: readonly string[];
  transportFactory: TransportFactory;
  /** Session id announced in the client `Hello`. */
  clientId: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  backoff: BackoffOptions;
  random: () => number;
}

/**
 * The front end's session with a relay: one transport at a time, the Hello
 * handshake, heartbeats that replace a silent link, reconnects with
 * full-jitter backoff, and an outbox that batches doc messages into as few
 * `Docs` frames as `TARGET_BATCH_BYTES` allows. Knows nothing about docs.
 */
export class RelayLink implements FrontLink {
  #o: RelayLinkOptions;
  #transport: Transport | null = null;
  #state: LinkState = 'offline';
  #epoch = 0;
  #attempt = 0;
  #urlIndex = 0;
  #stopped = true;
  /** The relay refused our token (4401/4403/4419): no retries until `setUrls` brings a new list. */
  #denied = false;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  #lastHeard = 0;
  #nonce = 0;
  /** When the probe with nonce `#nonce` was sent (for the round trip). */
  #probeSentAt = 0;
  #relayId: string | null = null;
  #rttMs: number | null = null;
  #outbox: DocMessage[] = [];
  #holds = 0;
  #flushQueued = false;

  constructor(options: RelayLinkOptions) {
    if (options.urls.length === 0) throw new Error('RelayLink needs at least one relay URL');
    const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout } = options;
    if (!(interval > 0 && timeout > interval)) {
      throw new RangeError(
        `need 0 < heartbeatIntervalMs < heartbeatTimeoutMs, got ${interval} and ${timeout}`,
      );
    }
    this.#o = options;
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Identifies the current connection; doc messages are only valid within one. */
  get epoch(): number {
    return this.#epoch;
  }

  get endpoint(): { url: string; protocol: 'lattice' } {
    return {
      url: this.#o.urls[this.#urlIndex % this.#o.urls.length] as string,
      protocol: 'lattice',
    };
  }

  get relayId(): string | null {
    return this.#relayId;
  }

  get heartbeatRttMs(): number | null {
    return this.#rttMs;
  }

  leave(docName: string, seq: number): void {
    this.sendFrame(encodeLeave(docName, seq));
  }

  setLive(): void {
    // One socket carries every doc: nothing to prioritise.
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /**
   * Connect now, skipping any backoff wait (a "retry" button, the browser's
   * `online` event). An established link is probed at once instead, since the
   * network change may have left it half-open.
   */
  reconnect(): void {
    if (this.#stopped || this.#denied) return;
    if (this.#transport === null) {
      this.#attempt = 0;
      this.#connect();
    } else if (this.#state === 'ready') {
      this.#sendHeartbeat();
    }
  }

  /**
   * Replaces the relay list. The current connection stays if its URL is still
   * listed; otherwise it is closed and the first listed relay is tried after a
   * jittered first-retry delay (every front end of a cluster may get the same
   * new list at once).
   */
  setUrls(urls: readonly string[]): void {
    if (urls.length === 0) throw new RangeError('RelayLink needs at least one relay URL');
    const current = this.endpoint.url;
    const changed = !sameList(this.#o.urls, urls);
    this.#o = { ...this.#o, urls: [...urls] };
    if (this.#denied) {
      // The same list means the same token: asking again would only be refused again.
      if (!changed) return;
      this.#denied = false;
      this.#urlIndex = urls.length - 1;
      if (this.#stopped) return;
      this.#attempt = 0;
      this.#failed();
      return;
    }
    const at = urls.indexOf(current);
    if (at >= 0) {
      this.#urlIndex = at;
      return;
    }
    // `#failed` moves on to the next URL: index 0.
    this.#urlIndex = urls.length - 1;
    if (this.#stopped) return;
    this.#attempt = 0;
    if (this.#transport !== null) {
      this.#drop(CloseCode.Normal, 'relay no longer listed');
    } else {
      this.#clearRetry();
      this.#failed();
    }
  }

  /** Queues a doc message for the next `Docs` frame of the current connection. */
  enqueue(message: DocMessage): void {
    if (this.#state !== 'ready') return;
    this.#outbox.push(message);
    this.#queueFlush();
  }

  /** Sends a non-`Docs` frame, after everything already queued. */
  sendFrame(frame: Uint8Array): void {
    if (this.#state !== 'ready') return;
    this.#flush(true);
    this.#transport?.send(frame);
  }

  /**
   * Holds the outbox until the returned release is called, so replies to one
   * incoming frame (some computed asynchronously) leave in a few frames.
   */
  hold(): () => void {
    const epoch = this.#epoch;
    this.#holds++;
    let released = false;
    return () => {
      if (released || epoch !== this.#epoch) return;
      released = true;
      this.#holds--;
      if (this.#holds === 0) this.#queueFlush();
    };
  }

  /** Stops for good: closes the transport, cancels timers. */
  stop(): void {
    this.#stopped = true;
    this.#clearRetry();
    const transport = this.#transport;
    this.#teardown();
    if (transport) {
      detach(transport);
      transport.close(CloseCode.Normal, 'front end stopped');
    }
    this.#setState('offline');
  }

  #connect(): void {
    this.#clearRetry();
    const url = this.#o.urls[this.#urlIndex % this.#o.urls.length] as string;
    const epoch = ++this.#epoch;
    let transport: Transport;
    try {
      transport = this.#o.transportFactory(url);
    } catch (err) {
      this.#o.onError(new Error(`cannot create transport to ${url}: ${(err as Error).message}`));
      this.#failed();
      return;
    }
    this.#transport = transport;
    transport.onOpen = () => {
      if (epoch !== this.#epoch) return;
      this.#lastHeard = performance.now();
      transport.send(
        encodeHello({
          protocol: PROTOCOL_NAME,
          version: PROTOCOL_VERSION,
          role: 'client',
          id: this.#o.clientId,
          features: [HELLO_FEATURE_ACKS],
        }),
      );
    };
    transport.onMessage = (frame) => {
      if (epoch === this.#epoch) this.#receive(frame);
    };
    transport.onClose = (event: TransportCloseEvent) => {
      if (epoch !== this.#epoch) return;
      this.#teardown();
      const problem = accessProblemOf(event.code);
      if (problem !== null) {
        this.#denied = true;
        this.#setState('offline');
        this.#o.onDenied(problem, event.reason);
        return;
      }
      this.#failed();
    };
    this.#setState('connecting');
    this.#lastHeard = performance.now();
    this.#armDeadline(this.#o.heartbeatTimeoutMs);
    transport.connect();
  }

  #receive(data: Uint8Array): void {
    this.#lastHeard = performance.now();
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      const message = err instanceof ProtocolError ? err.message : String(err);
      this.#o.onError(new Error(`malformed frame from relay: ${message}`));
      this.#drop(CloseCode.MalformedFrame, 'malformed frame');
      return;
    }
    if (this.#state !== 'ready') {
      if (frame.type !== FrameType.Hello || frame.hello.role !== 'relay') {
        this.#o.onError(new Error('relay did not start with a Hello'));
        this.#drop(CloseCode.MalformedFrame, 'expected Hello');
        return;
      }
      if (frame.hello.version !== PROTOCOL_VERSION) {
        this.#o.onError(new Error(`relay speaks protocol version ${frame.hello.version}`));
        this.#drop(CloseCode.UnsupportedVersion, 'unsupported version');
        return;
      }
      this.#attempt = 0;
      this.#heartbeatTimer = setInterval(() => this.#sendHeartbeat(), this.#o.heartbeatIntervalMs);
      this.#relayId = frame.hello.id ?? null;
      this.#o.onInfo();
      this.#o.onAccess(frame.hello.access ?? null);
      this.#setState('ready');
      this.#o.onReady(this.#epoch);
      return;
    }
    switch (frame.type) {
      case FrameType.Docs:
        this.#o.onDocs(frame.messages);
        break;
      case FrameType.Ack:
        this.#o.onAck(frame.docName, frame.seq, frame.stateVector);
        break;
      case FrameType.Acks:
        for (const ack of frame.acks) this.#o.onAck(ack.docName, ack.seq, ack.stateVector);
        break;
      case FrameType.DocError:
        this.#o.onDocError(frame.docName, frame.code, frame.reason);
        break;
      case FrameType.ClusterAck:
        this.#o.onClusterAck(frame.docName, frame.relayId, frame.stateVector);
        break;
      case FrameType.Heartbeat:
        if (!frame.reply) this.#transport?.send(encodeHeartbeat(frame.nonce, true));
        else if (frame.nonce === this.#nonce && this.#probeSentAt > 0) {
          this.#rttMs = performance.now() - this.#probeSentAt;
          this.#probeSentAt = 0;
          this.#o.onInfo();
        }
        break;
      case FrameType.Hello:
        // A duplicated Hello (the fault model allows duplicates) changes nothing.
        break;
      default:
        // A Leave makes no sense from a relay.
        this.#o.onError(new Error(`unexpected frame type ${frame.type} from relay`));
        this.#drop(CloseCode.MalformedFrame, 'unexpected frame');
    }
  }

  #sendHeartbeat(): void {
    this.#nonce = (this.#nonce + 1) % 0x7fffffff;
    this.#probeSentAt = performance.now();
    this.#transport?.send(encodeHeartbeat(this.#nonce, false));
  }

  #armDeadline(ms: number): void {
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    const due = performance.now() + ms;
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = null;
      const now = performance.now();
      // One timer re-armed from the last sign of life, instead of one per frame.
      const silentFor = now - this.#lastHeard;
      const timeout = this.#o.heartbeatTimeoutMs;
      if (silentFor < timeout) {
        this.#armDeadline(timeout - silentFor);
      } else if (now - due > STALL_MS) {
        // This timer fired late: our own event loop was blocked, and frames that
        // arrived meanwhile may still wait in the queue. Judge after they ran.
        this.#lastHeard = Math.max(this.#lastHeard, now - timeout + this.#o.heartbeatIntervalMs);
        this.#sendHeartbeat();
        this.#armDeadline(this.#o.heartbeatIntervalMs);
      } else if (this.#state === 'ready') {
        this.#o.onError(new Error(`relay silent for ${Math.round(silentFor)} ms; replacing link`));
        this.#drop(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      } else {
        this.#o.onError(new Error('relay handshake timed out'));
        this.#drop(CloseCode.HandshakeTimeout, 'handshake timeout');
      }
    }, ms);
  }

  /** Closes the current transport ourselves and moves on to the next attempt. */
  #drop(code: number, reason: string): void {
    const transport = this.#transport;
    this.#teardown();
    if (transport) {
      detach(transport);
      transport.close(code, reason);
    }
    this.#failed();
  }

  #teardown(): void {
    this.#transport = null;
    this.#outbox = [];
    this.#holds = 0;
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    if (this.#heartbeatTimer !== null) clearInterval(this.#heartbeatTimer);
    this.#deadlineTimer = null;
    this.#heartbeatTimer = null;
    // Late callbacks of the old transport must not touch the next one.
    this.#epoch++;
  }

  /** A connection attempt failed or an established one ended: wait, then try the next relay. */
  #failed(): void {
    this.#setState('offline');
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt, this.#o.backoff, this.#o.random);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#urlIndex = (this.#urlIndex + 1) % this.#o.urls.length;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #setState(state: LinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#o.onState(state);
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush(false);
    });
  }

  #flush(force: boolean): void {
    if ((this.#holds > 0 && !force) || this.#outbox.length === 0) return;
    const transport = this.#transport;
    const messages = this.#outbox;
    this.#outbox = [];
    if (!transport || this.#state !== 'ready') return;
    for (const batch of splitDocMessages(messages)) transport.send(encodeDocs(batch));
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((url, i) => url === b[i]);
}

function detach(transport: Transport): void {
  transport.onOpen = null;
  transport.onMessage = null;
  transport.onClose = null;
}
