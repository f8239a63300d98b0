import { type BackoffOptions, backoffDelay } from '../backoff.ts';
import type { RelayConnection, Transport, TransportFactory } from '../ports.ts';
import { CloseCode } from '../protocol.ts';
import type { PeerSession } from './PeerSession.ts';
import type { RelayLog } from './Room.ts';

/** What a dialer needs from the relay core. */
export interface DialerContext {
  readonly log: RelayLog;
  readonly random: () => number;
  readonly backoff: BackoffOptions;
  /** A transport that does not open (or answer the Hello) within this long is dropped. */
  readonly connectTimeoutMs: number;
  /** Starts an outbound peer session over an open connection. */
  startSession(conn: RelayConnection, dialer: PeerDialer): PeerSession;
  /** Does this relay hold an open link (either direction) to `relayId`? */
  hasLinkTo(relayId: string): boolean;
}

/**
 * Keeps one outbound peer link up: dials `url` through a fresh transport,
 * runs a `PeerSession` over it, and re-dials with full-jitter backoff after
 * it drops. When the peer (or this relay) closed the link as a duplicate
 * (`CloseCode.DuplicatePeer`: the other direction's link wins), it only
 * watches, and re-dials once no link to that relay is left.
 */
export class PeerDialer {
  readonly url: string;
  readonly #factory: TransportFactory;
  readonly #ctx: DialerContext;
  #state: 'connecting' | 'connected' | 'down' | 'stopped' = 'down';
  #transport: Transport | null = null;
  #session: PeerSession | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #watching = false;
  /** The peer's relay id, once a handshake told it. */
  relayId: string | null = null;

  constructor(url: string, factory: TransportFactory, ctx: DialerContext) {
    this.url = url;
    this.#factory = factory;
    this.#ctx = ctx;
  }

  get state(): 'connected' | 'connecting' | 'down' {
    return this.#state === 'stopped' ? 'down' : this.#state;
  }

  /** The current session (open or handshaking), if any. */
  get session(): PeerSession | null {
    return this.#session;
  }

  /** `true` while it waits for a winning link in the other direction to drop. */
  get watching(): boolean {
    return this.#watching;
  }

  start(): void {
    if (this.#state === 'stopped') return;
    this.#dial();
  }

  /** Stops dialing and closes the current link. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#clearTimers();
    const session = this.#session;
    const transport = this.#transport;
    this.#session = null;
    this.#transport = null;
    if (session !== null) session.close(CloseCode.GoingAway, 'peer removed');
    transport?.close(CloseCode.GoingAway, 'peer removed');
  }

  /** The session's handshake completed (resets the backoff). */
  connected(): void {
    if (this.#state === 'stopped') return;
    this.#attempt = 0;
    this.#watching = false;
    this.#state = 'connected';
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }

  /** A link to this dialer's relay ended somewhere: a watching dialer takes over. */
  linkEnded(): void {
    if (this.#state === 'stopped' || !this.#watching) return;
    this.#watching = false;
    this.#schedule();
  }

  #clearTimers(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#timer = undefined;
    this.#connectTimer = undefined;
  }

  #dial(): void {
    if (this.#state === 'stopped') return;
    this.#clearTimers();
    this.#state = 'connecting';
    let transport: Transport;
    try {
      transport = this.#factory(this.url);
    } catch (err) {
      this.#ctx.log('peer.dial_failed', { url: this.url, error: String(err) });
      this.#down(null);
      return;
    }
    this.#transport = transport;
    const conn: RelayConnection = {
      send: (frame) => transport.send(frame),
      close: (code, reason) => transport.close(code, reason),
      get bufferedAmount() {
        return transport.bufferedAmount;
      },
    };
    transport.onOpen = () => {
      if (this.#transport !== transport) return;
      this.#session = this.#ctx.startSession(conn, this);
    };
    transport.onMessage = (frame) => {
      if (this.#transport === transport) this.#session?.receive(frame);
    };
    transport.onClose = (event) => {
      if (this.#transport !== transport) return;
      const session = this.#session;
      this.#session = null;
      this.#transport = null;
      session?.closed();
      this.#down(session?.closeCode ?? event.code);
    };
    // A blackholed dial never opens nor closes: give up on it ourselves.
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      if (this.#transport === transport && this.#state === 'connecting') {
        this.#ctx.log('peer.connect_timeout', { url: this.url });
        transport.close(CloseCode.HandshakeTimeout, 'peer did not answer');
        // Some transports report the close later or never: do not wait for it.
        if (this.#transport === transport) {
          this.#transport = null;
          const session = this.#session;
          this.#session = null;
          session?.closed();
          this.#down(CloseCode.HandshakeTimeout);
        }
      }
    }, this.#ctx.connectTimeoutMs);
    transport.connect();
  }

  #down(code: number | null): void {
    if (this.#state === 'stopped') return;
    this.#clearTimers();
    this.#state = 'down';
    if (code === CloseCode.DuplicatePeer) {
      this.#watching = true;
      // Re-check now and then: the winning link may die where this relay cannot see it.
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!this.#watching) return;
        if (this.relayId !== null && this.#ctx.hasLinkTo(this.relayId)) {
          this.#down(CloseCode.DuplicatePeer);
          return;
        }
        this.#watching = false;
        this.#schedule();
      }, this.#ctx.backoff.maxMs);
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#state === 'stopped') return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const delay = backoffDelay(this.#attempt, this.#ctx.backoff, this.#ctx.random);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#dial();
    }, delay);
  }
}
