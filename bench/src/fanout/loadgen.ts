/**
 * Load generator (child process, `fork` with `--import tsx`): holds a share of
 * the fan-out benchmark's clients, one WebSocket each, against either the
 * Lattice relay (multiplexed protocol) or a Hocuspocus server (its own
 * protocol), types into each client's doc at a jittered human rate and
 * measures delivery latency (send → another member applied the edit) and,
 * for Lattice, ack latency (send → the relay's Ack covering its number).
 *
 * Both clients are raw-frame clients with the same work per message (a
 * `Y.Doc` that applies everything it receives): the official providers do
 * more per message (awareness, timers, events), and on this 2-core machine
 * generator CPU that differs between the two systems would bias latency.
 */

import { NodeWebSocket } from '@lattice/relay/testing';
import {
  decodeFrame,
  decodeYMessage,
  encodeDocs,
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
import * as Y from 'yjs';
import { Histogram } from './histogram.ts';
import {
  type ClientSpec,
  type GeneratorCommand,
  type GeneratorReply,
  type System,
  speaksLattice,
  wallNow,
} from './messages.ts';

/** Transaction origin of updates that came from the server. */
const REMOTE = Symbol('remote');
/** Transaction origin of this client's own typing. */
const LOCAL = Symbol('local');

const delivery = new Histogram();
const ack = new Histogram();
const lag = new Histogram();
let window = { from: Number.POSITIVE_INFINITY, to: Number.NEGATIVE_INFINITY };
let deliveredInWindow = 0;
let ackedInWindow = 0;
let sentInWindow = 0;
let sentTotal = 0;
let closedSockets = 0;
let running = false;

function inWindow(t: number): boolean {
  return t >= window.from && t < window.to;
}

function reply(message: GeneratorReply): void {
  process.send?.(message);
}

// ---- the minimal lib0 varint framing Hocuspocus speaks (bench has no direct lib0 dependency) ----

class Writer {
  readonly #bytes: number[] = [];
  uint(n: number): this {
    let v = n;
    while (v > 0x7f) {
      this.#bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.#bytes.push(v);
    return this;
  }
  bytes(data: Uint8Array): this {
    this.uint(data.length);
    for (const b of data) this.#bytes.push(b);
    return this;
  }
  string(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

class Reader {
  #pos = 0;
  constructor(readonly data: Uint8Array) {}
  uint(): number {
    let n = 0;
    let mult = 1;
    for (;;) {
      const b = this.data[this.#pos++];
      if (b === undefined) throw new Error('truncated varint');
      n += (b & 0x7f) * mult;
      if (b < 0x80) return n;
      mult *= 128;
    }
  }
  bytes(): Uint8Array {
    const len = this.uint();
    const out = this.data.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }
  string(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

/** Keystrokes that delete the last character instead of typing one. */
const BACKSPACE_SHARE = 0.1;

/** What both client kinds share: the doc, the typing, the stamps. */
abstract class LoadClient {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText('body');
  readonly stamps = this.doc.getMap<number>('stamps');
  readonly ready: Promise<void>;
  protected markReady!: () => void;
  protected ws!: WebSocket;
  #edits = 0;
  #closed = false;

  constructor(
    readonly spec: ClientSpec,
    readonly random: () => number,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.stamps.observe((event, tx) => {
      if (tx.origin !== REMOTE) return;
      const now = wallNow();
      for (const key of event.keysChanged) {
        // Keys are `<sender>#<n>`: each edit its own key, so merged updates still count every edit.
        if (key.startsWith(`${spec.id}#`)) continue;
        const sentAt = this.stamps.get(key);
        if (sentAt === undefined || !inWindow(sentAt)) continue;
        delivery.record(now - sentAt);
        deliveredInWindow++;
      }
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) this.sendUpdate(update);
    });
  }

  /** `ws` through its browser-style API (typed by the relay's testing harness). */
  protected connect(url: string, onOpen: () => void): void {
    const ws = new NodeWebSocket(url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = onOpen;
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      try {
        this.onMessage(new Uint8Array(event.data));
      } catch (err) {
        process.stderr.write(`loadgen ${this.spec.id}: ${(err as Error).message}\n`);
      }
    };
    ws.onclose = () => {
      if (!this.#closed && running) closedSockets++;
      this.#closed = true;
    };
    ws.onerror = () => process.stderr.write(`loadgen ${this.spec.id}: socket error\n`);
  }

  /**
   * One keystroke: a character typed at the end, or one time in ten a
   * backspace (people correct as they type; an insert-only load would spare
   * a server the deletions), and the send time under a key of its own.
   */
  edit(): void {
    if (this.ws.readyState !== NodeWebSocket.OPEN) return;
    const n = ++this.#edits;
    const backspace = this.text.length > 0 && this.random() < BACKSPACE_SHARE;
    const ch = 'abcdefghijklmnopqrstuvwxyz     '[Math.floor(this.random() * 31)] ?? ' ';
    this.doc.transact(() => {
      if (backspace) this.text.delete(this.text.length - 1, 1);
      else this.text.insert(this.text.length, ch);
      const sentAt = wallNow();
      this.stamps.set(`${this.spec.id}#${n}`, sentAt);
      sentTotal++;
      if (inWindow(sentAt)) sentInWindow++;
      this.noteSent(sentAt);
    }, LOCAL);
  }

  close(): void {
    this.#closed = true;
    this.ws.close();
  }

  protected apply(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, REMOTE);
  }

  /** Called inside the edit's transaction, before `sendUpdate` (which follows at its end). */
  protected noteSent(_sentAt: number): void {}
  protected abstract sendUpdate(update: Uint8Array): void;
  protected abstract onMessage(data: Uint8Array): void;
}

/** A Lattice multiplexed client: Hello, numbered sync messages, Acks, heartbeats. */
class LatticeClient extends LoadClient {
  #seq = 0;
  /** Send times of numbered messages not yet acked, oldest first. */
  readonly #unacked: Array<[seq: number, sentAt: number]> = [];
  #pendingSentAt = 0;

  constructor(spec: ClientSpec, random: () => number, url: string) {
    super(spec, random);
    this.connect(`${url.replace(/^http/, 'ws')}/sync`, () => {
      this.ws.send(
        encodeHello({
          protocol: PROTOCOL_NAME,
          version: PROTOCOL_VERSION,
          role: 'client',
          id: spec.id,
        }),
      );
      this.#sendNumbered(encodeSyncStep1(Y.encodeStateVector(this.doc)));
    });
  }

  #sendNumbered(message: Uint8Array): number {
    const seq = ++this.#seq;
    this.ws.send(encodeDocs([{ docName: this.spec.doc, seq, message }]));
    return seq;
  }

  protected override noteSent(sentAt: number): void {
    this.#pendingSentAt = sentAt;
  }

  protected sendUpdate(update: Uint8Array): void {
    const seq = this.#sendNumbered(encodeSyncUpdate(update));
    this.#unacked.push([seq, this.#pendingSentAt]);
  }

  protected onMessage(data: Uint8Array): void {
    const frame = decodeFrame(data);
    switch (frame.type) {
      case FrameType.Docs:
        for (const { docName, message } of frame.messages) {
          if (docName !== this.spec.doc) continue;
          const y = decodeYMessage(message);
          if (y.type !== YMessageType.Sync) continue;
          if (y.step === SyncStep.Step1) {
            this.#sendNumbered(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, y.payload)));
          } else {
            this.apply(y.payload);
            if (y.step === SyncStep.Step2) this.markReady();
          }
        }
        return;
      case FrameType.Ack: {
        if (frame.docName !== this.spec.doc) return;
        const now = wallNow();
        while (this.#unacked.length > 0 && this.#unacked[0]![0] <= frame.seq) {
          const [, sentAt] = this.#unacked.shift()!;
          if (!inWindow(sentAt)) continue;
          ack.record(now - sentAt);
          ackedInWindow++;
        }
        return;
      }
      case FrameType.Heartbeat:
        if (!frame.reply) this.ws.send(encodeHeartbeat(frame.nonce, true));
        return;
      case FrameType.DocError:
        process.stderr.write(`loadgen ${this.spec.id}: DocError ${frame.code} ${frame.reason}\n`);
        return;
      default:
        return;
    }
  }
}

/** Hocuspocus message types (`@hocuspocus/server` MessageType) and y-protocols sync steps. */
const HP = { Sync: 0, Awareness: 1, Auth: 2, SyncReply: 4, SyncStatus: 8 } as const;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;

/**
 * A Hocuspocus client speaking what `@hocuspocus/provider` sends: every
 * message prefixed with the document name; an Auth (token) message first,
 * then SyncStep1; answers the server's SyncStep1; sends updates as Sync/Update.
 */
class HocuspocusClient extends LoadClient {
  constructor(spec: ClientSpec, random: () => number, url: string) {
    super(spec, random);
    this.connect(url.replace(/^http/, 'ws'), () => {
      // Auth, AuthMessageType.Token (0), empty token: the server has no onAuthenticate hook.
      this.ws.send(new Writer().string(spec.doc).uint(HP.Auth).uint(0).string('').done());
      this.ws.send(
        new Writer()
          .string(spec.doc)
          .uint(HP.Sync)
          .uint(STEP1)
          .bytes(Y.encodeStateVector(this.doc))
          .done(),
      );
    });
  }

  protected sendUpdate(update: Uint8Array): void {
    this.ws.send(
      new Writer().string(this.spec.doc).uint(HP.Sync).uint(UPDATE).bytes(update).done(),
    );
  }

  protected onMessage(data: Uint8Array): void {
    const r = new Reader(data);
    if (r.string() !== this.spec.doc) return;
    const type = r.uint();
    if (type !== HP.Sync && type !== HP.SyncReply) return;
    const step = r.uint();
    const payload = r.bytes();
    if (step === STEP1) {
      this.ws.send(
        new Writer()
          .string(this.spec.doc)
          .uint(HP.Sync)
          .uint(STEP2)
          .bytes(Y.encodeStateAsUpdate(this.doc, payload))
          .done(),
      );
    } else {
      this.apply(payload);
      if (step === STEP2) this.markReady();
    }
  }
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

let clients: LoadClient[] = [];
let random = xorshift(1);

async function setup(system: System, url: string, specs: ClientSpec[], seed: number) {
  random = xorshift(seed);
  const started = performance.now();
  const make = (spec: ClientSpec) =>
    speaksLattice(system)
      ? new LatticeClient(spec, random, url)
      : new HocuspocusClient(spec, random, url);
  // Connect in small waves: a burst of hundreds of handshakes at once measures the accept queue.
  const WAVE = 25;
  for (let i = 0; i < specs.length; i += WAVE) {
    const wave = specs.slice(i, i + WAVE).map(make);
    clients.push(...wave);
    await Promise.race([
      Promise.all(wave.map((c) => c.ready)),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${system}: clients did not sync within 30 s`)), 30_000),
      ),
    ]);
  }
  reply({ kind: 'ready', connectMs: performance.now() - started });
}

function run(command: Extract<GeneratorCommand, { kind: 'run' }>): void {
  window = { from: command.measureFrom, to: command.measureTo };
  running = true;
  const interval = 1000 / command.rate;
  for (const client of clients) {
    // Absolute schedule (no drift): a late timer fires the edit late, the next stays on time.
    let next = command.startAt + random() * interval;
    const fire = () => {
      const now = wallNow();
      if (now >= command.measureTo) return;
      lag.record(Math.max(0, now - next));
      client.edit();
      next += interval * (0.5 + random());
      setTimeout(fire, Math.max(0, next - wallNow()));
    };
    setTimeout(fire, Math.max(0, next - wallNow()));
  }
  setTimeout(
    () => {
      running = false;
      reply({
        kind: 'result',
        delivery: delivery.toJSON(),
        ack: ack.toJSON(),
        sentInWindow,
        sentTotal,
        deliveredInWindow,
        ackedInWindow,
        closed: closedSockets,
        lagP99Ms: lag.percentile(0.99),
      });
    },
    Math.max(0, command.measureTo + command.drainMs - wallNow()),
  );
}

process.on('message', (command: GeneratorCommand) => {
  switch (command.kind) {
    case 'setup':
      setup(command.system, command.url, command.clients, command.seed).catch((err: unknown) =>
        reply({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
      );
      return;
    case 'run':
      run(command);
      return;
    case 'close':
      for (const c of clients) c.close();
      clients = [];
      // Let the close frames go out, then leave.
      setTimeout(() => process.exit(0), 200);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
