import {
  decodeFrame,
  decodeYMessage,
  encodeDoc,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type Frame,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from '@lattice/replication';
import { WebSocket } from 'ws';
import * as Y from 'yjs';

/** How the relay closed a socket. */
export interface SocketClose {
  code: number;
  reason: string;
}

/**
 * A minimal Lattice multiplexed client over a real WebSocket, for relay tests:
 * Hello handshake, SyncStep1 per doc, answers the relay's SyncStep1, applies
 * what arrives into local `Y.Doc`s and sends local edits as updates.
 */
export class MuxWsClient {
  readonly ws: WebSocket;
  /** Every frame received, decoded. */
  readonly frames: Frame[] = [];
  readonly docs = new Map<string, Y.Doc>();
  /** Resolves with the close code and reason once the socket closed. */
  readonly closed: Promise<SocketClose>;
  readonly #opened: Promise<void>;
  readonly #listeners = new Set<() => void>();
  /** Sync messages numbered per doc, as a front end numbers them (what acks count). */
  readonly #seqs = new Map<string, number>();

  /**
   * Connects to `baseUrl` (`http://host:port`) + `/sync` (with `?token=` when
   * `options.token` is given); call `hello()` (or send raw frames) next.
   */
  constructor(baseUrl: string, options: { token?: string } = {}) {
    const query = options.token === undefined ? '' : `?token=${encodeURIComponent(options.token)}`;
    this.ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/sync${query}`);
    this.ws.binaryType = 'nodebuffer';
    this.#opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
        this.#notify();
      });
    });
    this.ws.on('message', (data: Buffer) => this.#onFrame(new Uint8Array(data)));
  }

  /** Resolves once the socket is open. */
  open(): Promise<void> {
    return this.#opened;
  }

  /** Sends raw bytes once open. */
  async sendRaw(frame: Uint8Array): Promise<void> {
    await this.#opened;
    this.ws.send(frame);
  }

  /** Opens the socket, sends a client Hello and waits for the relay's. */
  async hello(): Promise<Frame> {
    await this.sendRaw(
      encodeHello({
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
        role: 'client',
        id: 'test',
      }),
    );
    return this.waitFor(() => this.frames.find((f) => f.type === FrameType.Hello));
  }

  /** Starts syncing `docName` into a fresh local doc; local edits are sent as updates. */
  sync(docName: string, doc: Y.Doc = new Y.Doc()): Y.Doc {
    this.docs.set(docName, doc);
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== this) void this.sendRaw(this.#numbered(docName, encodeSyncUpdate(update)));
    });
    void this.sendRaw(this.#numbered(docName, encodeSyncStep1(Y.encodeStateVector(doc))));
    return doc;
  }

  /** Sync messages sent for `docName` so far (the highest number an ack can name). */
  sent(docName: string): number {
    return this.#seqs.get(docName) ?? 0;
  }

  /** The highest number the relay acked for `docName`. */
  acked(docName: string): number {
    let seq = 0;
    for (const f of this.frames) {
      if (f.type === FrameType.Ack && f.docName === docName) seq = Math.max(seq, f.seq);
    }
    return seq;
  }

  #numbered(docName: string, message: Uint8Array): Uint8Array {
    const seq = (this.#seqs.get(docName) ?? 0) + 1;
    this.#seqs.set(docName, seq);
    return encodeDoc(docName, message, seq);
  }

  /** Resolves with `check()`'s first non-`undefined` result, re-checked on every frame. */
  waitFor<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
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
        reject(new Error(`MuxWsClient.waitFor: nothing after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(listener);
    });
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }

  #onFrame(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    this.frames.push(frame);
    if (frame.type === FrameType.Docs) {
      for (const { docName, message } of frame.messages) {
        const doc = this.docs.get(docName);
        const y = decodeYMessage(message);
        if (doc === undefined || y.type !== YMessageType.Sync) continue;
        if (y.step === SyncStep.Step1) {
          this.ws.send(
            this.#numbered(docName, encodeSyncStep2(Y.encodeStateAsUpdate(doc, y.payload))),
          );
        } else {
          Y.applyUpdate(doc, y.payload, this);
        }
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
