import {
  type DocMessage,
  decodeFrame,
  FrameType,
  type Transport,
  type TransportFactory,
  WebSocketTransport,
} from '@lattice/replication';
import { WebSocket } from 'ws';

/** `ws`'s WebSocket, typed as the browser's for `WebSocketTransport`. */
export const NodeWebSocket = WebSocket as unknown as typeof globalThis.WebSocket;

/**
 * `inner` with every frame it sends (`up`) and receives (`down`) shown to
 * `onFrame` first: for harnesses that count or record frames.
 */
export function tapTransport(
  inner: Transport,
  onFrame: (direction: 'up' | 'down', frame: Uint8Array) => void,
): Transport {
  const transport: Transport = {
    get state() {
      return inner.state;
    },
    get bufferedAmount() {
      return inner.bufferedAmount;
    },
    onOpen: null,
    onMessage: null,
    onClose: null,
    connect: () => inner.connect(),
    close: (code, reason) => inner.close(code, reason),
    send: (frame) => {
      onFrame('up', frame);
      inner.send(frame);
    },
  };
  inner.onOpen = () => transport.onOpen?.();
  inner.onClose = (event) => transport.onClose?.(event);
  inner.onMessage = (frame) => {
    onFrame('down', frame);
    transport.onMessage?.(frame);
  };
  return transport;
}

/** One frame seen by a `FrameTally`. */
export interface TalliedFrame {
  direction: 'up' | 'down';
  bytes: number;
  type: number;
  /** The entries of a `Docs` frame (empty for other frames). */
  messages: DocMessage[];
  at: number;
}

/**
 * Records every frame a Replica's WebSocket transports send and receive
 * (sizes, types, doc entries), for tests that count round trips and bytes.
 */
export class FrameTally {
  readonly frames: TalliedFrame[] = [];
  /** Transports made so far (one per connection attempt). */
  readonly transports: Transport[] = [];

  /** Pass as `ReplicaOptions.transportFactory`. */
  readonly factory: TransportFactory = (url) => {
    const transport = tapTransport(new WebSocketTransport(url, NodeWebSocket), (direction, frame) =>
      this.#record(direction, frame),
    );
    this.transports.push(transport);
    return transport;
  };

  /** Forgets what was recorded so far. */
  reset(): void {
    this.frames.length = 0;
  }

  /** Total bytes of `Docs` frames in `direction`. */
  docsBytes(direction: 'up' | 'down'): number {
    return this.frames
      .filter((f) => f.direction === direction && f.type === FrameType.Docs)
      .reduce((sum, f) => sum + f.bytes, 0);
  }

  #record(direction: 'up' | 'down', frame: Uint8Array): void {
    let type = -1;
    let messages: DocMessage[] = [];
    try {
      const decoded = decodeFrame(frame);
      type = decoded.type;
      if (decoded.type === FrameType.Docs) messages = decoded.messages;
    } catch {
      // Counted as an unknown frame.
    }
    this.frames.push({ direction, bytes: frame.length, type, messages, at: performance.now() });
  }
}

/** A transport factory over `ws` without bookkeeping. */
export const wsTransportFactory: TransportFactory = (url) =>
  new WebSocketTransport(url, NodeWebSocket);
