import type { RelayConnection } from '../../ports.ts';
import {
  decodeFrame,
  decodeYMessage,
  type Frame,
  FrameType,
  type YMessage,
} from '../../protocol.ts';

/** How a `RecordingConnection` was closed. */
export interface RecordedClose {
  code: number;
  reason: string;
}

/**
 * A `RelayConnection` that records what the relay sends, for tests that drive
 * a `RelayCore` with raw frames and no sockets.
 */
export class RecordingConnection implements RelayConnection {
  /** Frames sent by the relay, in order. */
  readonly sent: Uint8Array[] = [];
  /** Set once the relay closed the connection. */
  closedWith: RecordedClose | undefined;
  bufferedAmount = 0;
  readonly #listeners = new Set<() => void>();

  send(frame: Uint8Array): void {
    if (this.closedWith !== undefined) throw new Error('send on a closed connection');
    this.sent.push(frame.slice());
    this.#notify();
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
    this.#notify();
  }

  /** Sent frames decoded as multiplexed frames. */
  frames(): Frame[] {
    return this.sent.map((f) => decodeFrame(f));
  }

  /** The y-websocket messages sent about `docName` inside multiplexed `Docs` frames. */
  docMessages(docName: string): YMessage[] {
    const out: YMessage[] = [];
    for (const frame of this.frames()) {
      if (frame.type !== FrameType.Docs) continue;
      for (const m of frame.messages)
        if (m.docName === docName) out.push(decodeYMessage(m.message));
    }
    return out;
  }

  /** Sent frames decoded as plain y-websocket messages. */
  yMessages(): YMessage[] {
    return this.sent.map((f) => decodeYMessage(f));
  }

  /** Forgets what was sent so far. */
  clear(): void {
    this.sent.length = 0;
  }

  /**
   * Resolves with `check()`'s first non-`undefined` result, re-checked after
   * every send or close; rejects after `timeoutMs`.
   */
  waitFor<T>(check: () => T | undefined, timeoutMs = 2000): Promise<T> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const listener = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`RecordingConnection.waitFor: nothing after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(listener);
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
