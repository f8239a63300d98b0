/**
 * Child process of the soak test (`fork` with `--import tsx`): holds
 * connections `from`…`to - 1` to a relay as light raw-frame Lattice clients,
 * one room each (`room-<i % rooms>`), edits on command and reports what it
 * saw. Parent → child messages: `SoakCommand`; child → parent: `SoakReply`.
 */
import {
  decodeFrame,
  decodeYMessage,
  encodeDoc,
  encodeHeartbeat,
  encodeHello,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from '@lattice/replication';
import { WebSocket } from 'ws';
import * as Y from 'yjs';

/** What the soak parent tells a client process. */
export type SoakCommand =
  | { cmd: 'connect'; url: string; from: number; to: number; rooms: number }
  | { cmd: 'edit'; intervalMs: number }
  | { cmd: 'stop'; drainMs: number }
  | { cmd: 'exit' };

/** What a client process reports. */
export type SoakReply =
  | { kind: 'connected'; connections: number; failed: number }
  | {
      kind: 'report';
      sent: number;
      unacked: number;
      /** `[edit key, receivers here]` for every edit seen by a connection of this process. */
      received: [string, number][];
      ackMs: number[];
      deliveryMs: number[];
      /** Sockets closed without being asked to (code, reason). */
      dropped: { conn: number; code: number; reason: string }[];
      cpuSeconds: number;
    };

/** A wall clock shared by processes on one machine, with sub-millisecond resolution. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

const EDIT_KEY = /E(\d+):(\d+)@(\d+(?:\.\d+)?)/g;

class SoakConnection {
  readonly ws: WebSocket;
  readonly index: number;
  readonly docName: string;
  readonly #doc = new Y.Doc();
  #seq = 0;
  #acked = 0;
  /** Numbered message → when it was sent, until acked. */
  readonly #sentAt = new Map<number, number>();
  #edits = 0;
  #closing = false;
  #ready: () => void = () => {};
  readonly ready: Promise<void>;

  constructor(
    url: string,
    index: number,
    docName: string,
    readonly stats: Stats,
  ) {
    this.index = index;
    this.docName = docName;
    this.ready = new Promise((resolve) => {
      this.#ready = resolve;
    });
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/sync`);
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => {
      this.ws.send(
        encodeHello({
          protocol: PROTOCOL_NAME,
          version: PROTOCOL_VERSION,
          role: 'client',
          id: `soak-${index}`,
        }),
      );
      this.#sendNumbered(encodeSyncStep1(Y.encodeStateVector(this.#doc)));
    });
    this.ws.on('message', (data: Buffer) => this.#onFrame(new Uint8Array(data)));
    this.ws.on('error', () => {});
    this.ws.on('close', (code, reason) => {
      if (!this.#closing) {
        stats.dropped.push({ conn: index, code, reason: reason.toString('utf8') });
      }
      this.#ready();
    });
  }

  get unacked(): number {
    return this.#sentAt.size;
  }

  edit(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const key = `E${this.index}:${this.#edits++}@${now().toFixed(3)}`;
    // Own edits only: updates from others are counted, never applied. Each
    // connection overwrites its one entry, so the room's doc stays the same
    // size (Yjs garbage-collects the overwritten values) and memory that grows
    // is the relay's, not the content's.
    this.#doc.getMap('m').set(`c${this.index}`, key);
    this.stats.sent++;
  }

  close(): void {
    this.#closing = true;
    this.ws.close();
  }

  start(): void {
    this.#doc.on('update', (update: Uint8Array) => this.#sendNumbered(encodeSyncUpdate(update)));
  }

  #sendNumbered(message: Uint8Array): void {
    const seq = ++this.#seq;
    this.#sentAt.set(seq, now());
    this.ws.send(encodeDoc(this.docName, message, seq));
  }

  #onFrame(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    switch (frame.type) {
      case FrameType.Heartbeat:
        if (!frame.reply) this.ws.send(encodeHeartbeat(frame.nonce, true));
        return;
      case FrameType.Ack: {
        const t = now();
        for (let s = this.#acked + 1; s <= frame.seq; s++) {
          const at = this.#sentAt.get(s);
          if (at === undefined) continue;
          this.#sentAt.delete(s);
          // The handshake's messages are not edits.
          if (s > 2) this.stats.ackMs.push(t - at);
        }
        this.#acked = Math.max(this.#acked, frame.seq);
        return;
      }
      case FrameType.Docs:
        for (const { message } of frame.messages) {
          const y = decodeYMessage(message);
          if (y.type !== YMessageType.Sync) continue;
          if (y.step === SyncStep.Step1) {
            this.#sendNumbered(encodeSyncStep2(Y.encodeStateAsUpdate(this.#doc, y.payload)));
            this.#ready();
          } else if (y.step === SyncStep.Update) {
            this.#countDelivery(y.payload);
          }
        }
        return;
      default:
        return;
    }
  }

  #countDelivery(update: Uint8Array): void {
    const t = now();
    const text = Buffer.from(update.buffer, update.byteOffset, update.byteLength).toString(
      'latin1',
    );
    for (const match of text.matchAll(EDIT_KEY)) {
      if (Number(match[1]) === this.index) continue;
      const key = `E${match[1]}:${match[2]}`;
      this.stats.received.set(key, (this.stats.received.get(key) ?? 0) + 1);
      this.stats.deliveryMs.push(t - Number(match[3]));
    }
  }
}

interface Stats {
  sent: number;
  received: Map<string, number>;
  ackMs: number[];
  deliveryMs: number[];
  dropped: { conn: number; code: number; reason: string }[];
}

const stats: Stats = { sent: 0, received: new Map(), ackMs: [], deliveryMs: [], dropped: [] };
let connections: SoakConnection[] = [];
const timers: ReturnType<typeof setTimeout>[] = [];

function reply(message: SoakReply): void {
  process.send?.(message);
}

async function connect(url: string, from: number, to: number, rooms: number): Promise<void> {
  // In slices: a burst of 1,000 handshakes at once would measure the kernel's accept queue.
  for (let i = from; i < to; i += 50) {
    const slice: SoakConnection[] = [];
    for (let j = i; j < Math.min(to, i + 50); j++) {
      slice.push(new SoakConnection(url, j, `soak/room-${j % rooms}`, stats));
    }
    await Promise.all(slice.map((c) => c.ready));
    connections.push(...slice);
  }
  for (const c of connections) c.start();
  reply({
    kind: 'connected',
    connections: connections.filter((c) => c.ws.readyState === WebSocket.OPEN).length,
    failed: stats.dropped.length,
  });
}

function startEditing(intervalMs: number): void {
  for (const c of connections) {
    // Spread over the interval so edits arrive steadily, not in waves.
    const phase = Math.random() * intervalMs;
    timers.push(
      setTimeout(() => {
        c.edit();
        timers.push(setInterval(() => c.edit(), intervalMs));
      }, phase),
    );
  }
}

async function stop(drainMs: number): Promise<void> {
  for (const t of timers) clearInterval(t);
  const deadline = Date.now() + drainMs;
  while (Date.now() < deadline && connections.some((c) => c.unacked > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Deliveries of the last edits may trail their acks a little.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const cpu = process.cpuUsage();
  reply({
    kind: 'report',
    sent: stats.sent,
    unacked: connections.reduce((n, c) => n + c.unacked, 0),
    received: [...stats.received],
    ackMs: stats.ackMs,
    deliveryMs: stats.deliveryMs,
    dropped: stats.dropped,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  });
}

process.on('message', (message: SoakCommand) => {
  switch (message.cmd) {
    case 'connect':
      void connect(message.url, message.from, message.to, message.rooms);
      return;
    case 'edit':
      startEditing(message.intervalMs);
      return;
    case 'stop':
      void stop(message.drainMs);
      return;
    case 'exit':
      for (const c of connections) c.close();
      connections = [];
      setTimeout(() => process.exit(0), 200);
      return;
  }
});
