import type {
  ConnectionHandler,
  RelayConnection,
  Transport,
  TransportCloseEvent,
  TransportState,
} from '../ports.ts';

/** Accepts one connection on the relay side, e.g. `(conn) => core.acceptMultiplexed(conn)`. */
export type Acceptor = (conn: RelayConnection) => ConnectionHandler;

/** Direction of a frame: `up` is front end → relay, `down` relay → front end. */
export type FrameDirection = 'up' | 'down';

/**
 * What a `DeliverySchedule` may do to the connection a frame travels on. Per
 * the fault model (docs/ARCHITECTURE.md), a frame that is not delivered ends
 * the connection: visibly (`sever`) or silently (`silence`, half-open).
 */
export interface LinkControl {
  /** Drops the connection; both ends learn it closed (code 1006). */
  sever(reason?: string): void;
  /** The connection goes quiet both ways without a close event (half-open). */
  silence(): void;
}

/**
 * Decides when a frame is delivered: call `deliver` later to delay or reorder
 * it, more than once to duplicate it (each call delivers one copy), or never
 * and end the connection through `link` to drop it. The default delivers on
 * the next macrotask, in order, like a socket.
 */
export type DeliverySchedule = (
  deliver: () => void,
  frame: Uint8Array,
  direction: FrameDirection,
  link: LinkControl,
) => void;

/** Close code of a connection lost without a close frame (as browsers report it). */
export const ABNORMAL_CLOSURE = 1006;

export interface MemoryTransportOptions {
  schedule?: DeliverySchedule;
  /** Observes every frame handed to the link (before scheduling), e.g. to count frames. */
  onFrame?: (frame: Uint8Array, direction: FrameDirection) => void;
}

const nextTask: DeliverySchedule = (deliver) => {
  setTimeout(deliver, 0);
};

/**
 * An in-memory `Transport` to a relay-side acceptor: the front end's view of a
 * socket, for tests and the network simulation. `acceptor === null` stands
 * for an unreachable relay (the connection fails). `silence()` and `sever()`
 * model a half-open link and a dropped one.
 */
export class MemoryTransport implements Transport {
  onOpen: (() => void) | null = null;
  onMessage: ((frame: Uint8Array) => void) | null = null;
  onClose: ((event: TransportCloseEvent) => void) | null = null;

  #acceptor: Acceptor | null;
  #schedule: DeliverySchedule;
  #onFrame: MemoryTransportOptions['onFrame'];
  #state: TransportState = 'idle';
  #handler: ConnectionHandler | null = null;
  #serverOpen = false;
  #silent = false;
  #buffered = 0;
  #bufferedDown = 0;

  constructor(acceptor: Acceptor | null, options: MemoryTransportOptions = {}) {
    this.#acceptor = acceptor;
    this.#schedule = options.schedule ?? nextTask;
    this.#onFrame = options.onFrame;
  }

  get state(): TransportState {
    return this.#state;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** True once `silence()` was called. */
  get silent(): boolean {
    return this.#silent;
  }

  connect(): void {
    if (this.#state !== 'idle') throw new Error(`transport already used (state ${this.#state})`);
    this.#state = 'connecting';
    setTimeout(() => {
      if (this.#state !== 'connecting') return;
      const acceptor = this.#acceptor;
      if (!acceptor || this.#silent) {
        this.#clientClosed(ABNORMAL_CLOSURE, 'connection refused');
        return;
      }
      this.#serverOpen = true;
      this.#handler = acceptor(this.#relaySide());
      this.#state = 'open';
      this.onOpen?.();
    }, 0);
  }

  send(frame: Uint8Array): void {
    if (this.#state !== 'open') return;
    // The sender may reuse its buffer; a socket would have copied it too.
    const copy = frame.slice();
    this.#onFrame?.(copy, 'up');
    this.#buffered += copy.length;
    let pending = true;
    this.#schedule(
      () => {
        if (pending) this.#buffered -= copy.length;
        pending = false;
        if (!this.#serverOpen || this.#silent) return;
        // Each copy is its own buffer, as two arrivals of one frame would be.
        this.#handler?.receive(copy.slice());
      },
      copy,
      'up',
      this.#control,
    );
  }

  close(code = 1000, reason = ''): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#serverOpen;
    this.#clientClosed(code, reason);
    // Over a half-open link the close frame is lost too: the relay finds out on its own.
    if (wasOpen && !this.#silent) this.#serverClosed();
  }

  readonly #control: LinkControl = {
    sever: (reason) => this.sever(reason),
    silence: () => this.silence(),
  };

  /** The link goes quiet in both directions and nobody is told: a half-open socket. */
  silence(): void {
    this.#silent = true;
  }

  /** The link drops as on a network failure: both ends learn it closed (code 1006). */
  sever(reason = 'connection lost'): void {
    // A link still connecting fails like an unreachable relay.
    this.#acceptor = null;
    if (this.#state !== 'open') return;
    this.#serverClosed();
    setTimeout(() => this.#clientClosed(ABNORMAL_CLOSURE, reason), 0);
  }

  #relaySide(): RelayConnection {
    const link = this;
    return {
      send(frame: Uint8Array): void {
        if (!link.#serverOpen) return;
        const copy = frame.slice();
        link.#onFrame?.(copy, 'down');
        link.#bufferedDown += copy.length;
        let pending = true;
        link.#schedule(
          () => {
            if (pending) link.#bufferedDown -= copy.length;
            pending = false;
            if (link.#state !== 'open' || link.#silent) return;
            link.onMessage?.(copy.slice());
          },
          copy,
          'down',
          link.#control,
        );
      },
      close(code: number, reason: string): void {
        if (!link.#serverOpen) return;
        link.#serverClosed();
        if (link.#silent) return;
        setTimeout(() => link.#clientClosed(code, reason), 0);
      },
      get bufferedAmount(): number {
        return link.#bufferedDown;
      },
    };
  }

  #serverClosed(): void {
    if (!this.#serverOpen) return;
    this.#serverOpen = false;
    const handler = this.#handler;
    // Like a socket's close event: after frames already in flight were handled.
    setTimeout(() => handler?.closed(), 0);
  }

  #clientClosed(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.onClose?.({ code, reason });
  }
}
