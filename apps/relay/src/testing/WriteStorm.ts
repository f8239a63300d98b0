import {
  decodeYMessage,
  FrameType,
  SyncStep,
  type YMessage,
  YMessageType,
} from '@lattice/replication';
import * as prng from 'lib0/prng';
import type * as Y from 'yjs';
import { MuxWsClient } from './MuxWsClient.ts';

/** One edit of a storm: `marker` set in doc `docName`'s `markers` map, sent as message `seq`. */
export interface StormEdit {
  marker: string;
  docName: string;
  client: number;
  seq: number;
}

/** Options of `WriteStorm.start`. */
export interface WriteStormOptions {
  /** Relay base URL (`http://host:port`). */
  url: string;
  clients: number;
  docs: readonly string[];
  /** Seeded: which doc each edit goes to, payload sizes. */
  random: prng.PRNG;
  /** Marker prefix, unique per storm (e.g. the run number). */
  label: string;
  /** Milliseconds between bursts (each client makes one to three edits per burst). */
  intervalMs?: number;
  /** Largest filler per edit in bytes (default 4096): some batches get big. */
  maxFillerBytes?: number;
}

/**
 * Several `MuxWsClient`s writing to several docs as fast as they are told,
 * each edit carrying a unique marker, recording which edits the relay acked
 * (an `Ack` covers every numbered message of its doc up to its `seq`).
 */
export class WriteStorm {
  readonly clients: MuxWsClient[];
  readonly edits: StormEdit[] = [];
  readonly #options: WriteStormOptions;
  readonly #docs: Map<string, Y.Doc>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #count = 0;

  private constructor(options: WriteStormOptions, clients: MuxWsClient[]) {
    this.#options = options;
    this.clients = clients;
  }

  /** Connects every client and syncs every doc on it (waits for the relay's state of each). */
  static async start(options: WriteStormOptions): Promise<WriteStorm> {
    const clients = Array.from({ length: options.clients }, () => new MuxWsClient(options.url));
    const storm = new WriteStorm(options, clients);
    await Promise.all(
      clients.map(async (client, c) => {
        await client.hello();
        const docs = new Map<string, Y.Doc>();
        storm.#docs[c] = docs;
        for (const docName of options.docs) docs.set(docName, client.sync(docName));
        await Promise.all(options.docs.map((docName) => relayStateArrived(client, docName)));
      }),
    );
    storm.#timer = setInterval(() => storm.#burst(), options.intervalMs ?? 2);
    return storm;
  }

  /** Stops writing (sockets stay as they are). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Edits covered by an `Ack` received so far. */
  acked(): StormEdit[] {
    const ackedSeq = this.clients.map(
      (client) => new Map(this.#options.docs.map((d) => [d, client.acked(d)])),
    );
    return this.edits.filter((e) => e.seq <= (ackedSeq[e.client]?.get(e.docName) ?? 0));
  }

  /** Closes every client socket that is still open. */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.clients.map((c) => c.close()));
  }

  #burst(): void {
    const { random, docs, label } = this.#options;
    const maxFiller = this.#options.maxFillerBytes ?? 4096;
    for (let c = 0; c < this.clients.length; c++) {
      const client = this.clients[c]!;
      if (client.ws.readyState !== client.ws.OPEN) continue;
      const edits = prng.uint32(random, 1, 3);
      for (let i = 0; i < edits; i++) {
        const docName = docs[prng.uint32(random, 0, docs.length - 1)]!;
        const doc = this.#docs[c]?.get(docName);
        if (doc === undefined) continue;
        const marker = `${label}:${c}:${this.#count++}`;
        const filler = 'x'.repeat(prng.uint32(random, 0, maxFiller));
        doc.getMap('markers').set(marker, filler);
        // MuxWsClient numbers the update synchronously in the doc's update handler.
        this.edits.push({ marker, docName, client: c, seq: client.sent(docName) });
      }
    }
  }
}

function isRelayState(docName: string, message: Uint8Array, wanted: string): boolean {
  if (docName !== wanted) return false;
  let y: YMessage;
  try {
    y = decodeYMessage(message);
  } catch {
    return false;
  }
  return y.type === YMessageType.Sync && y.step === SyncStep.Step2;
}

/** Resolves once `client` received (and applied) the relay's `SyncStep2` for `docName`. */
export function relayStateArrived(
  client: MuxWsClient,
  docName: string,
  timeoutMs = 20_000,
): Promise<true> {
  return client.waitFor(
    () =>
      client.frames.some(
        (f) =>
          f.type === FrameType.Docs &&
          f.messages.some((m) => isRelayState(m.docName, m.message, docName)),
      ) || undefined,
    timeoutMs,
  );
}
