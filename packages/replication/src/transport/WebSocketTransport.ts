import type { Transport, TransportCloseEvent, TransportState } from '../ports.ts';
import { CloseCode } from '../protocol.ts';

/** Close code reported when the socket dropped without a close frame (as browsers do). */
const ABNORMAL_CLOSURE = 1006;

/**
 * `Transport` over one WebSocket (binary frames). Connects once; the front
 * end makes a new one for every reconnect.
 */
export class WebSocketTransport implements Transport {
  onOpen: (() => void) | null = null;
  onMessage: ((frame: Uint8Array) => void) | null = null;
  onClose: ((event: TransportCloseEvent) => void) | null = null;

  #url: string;
  #impl: typeof WebSocket | undefined;
  #socket: WebSocket | null = null;
  #state: TransportState = 'idle';

  /** `WebSocketImpl` defaults to `globalThis.WebSocket`; Node tests pass `ws`'s `WebSocket`. */
  constructor(url: string, WebSocketImpl: typeof WebSocket | undefined = globalThis.WebSocket) {
    this.#url = url;
    this.#impl = WebSocketImpl;
  }

  get state(): TransportState {
    return this.#state;
  }

  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  connect(): void {
    if (this.#state !== 'idle') throw new Error(`transport already used (state ${this.#state})`);
    this.#state = 'connecting';
    let socket: WebSocket;
    try {
      if (!this.#impl) throw new Error('no WebSocket implementation available');
      socket = new this.#impl(this.#url);
    } catch (err) {
      // A bad URL must look like any failed connection to the caller, not a throw.
      queueMicrotask(() => this.#closed(ABNORMAL_CLOSURE, (err as Error).message));
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#state !== 'connecting') return;
      this.#state = 'open';
      this.onOpen?.();
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.#state !== 'open') return;
      const frame = toBytes(event.data);
      // Text frames are not part of the protocol; the session treats them as malformed.
      this.onMessage?.(frame ?? new Uint8Array(0));
    };
    socket.onclose = (event: CloseEvent) => this.#closed(event.code, event.reason);
    // An error is always followed by a close event, which carries the outcome.
    socket.onerror = () => {};
  }

  send(frame: Uint8Array): void {
    if (this.#state !== 'open' || !this.#socket) return;
    this.#socket.send(frame);
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    if (socket) {
      try {
        socket.close(code, reason);
      } catch {
        // Browsers reject codes outside 1000 and 3000–4999; close without one.
        socket.close();
      }
    }
    // Report at once: a half-open socket may never deliver its close event.
    this.#closed(code, reason);
  }

  #closed(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const socket = this.#socket;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
    }
    this.onClose?.({ code, reason });
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
