import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ConnectionHandler, StoredDoc } from '../ports.ts';
import {
  encodeDocs,
  encodeHello,
  encodeSyncStep1,
  FrameType,
  HELLO_FEATURE_ACKS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from '../protocol.ts';
import { MemoryStorage } from '../storage/MemoryStorage.ts';
import { RecordingConnection } from '../testing/index.ts';
import { RelayCore } from './RelayCore.ts';

/** Storage whose load of one doc waits until `open()` is called. */
class GatedStorage extends MemoryStorage {
  readonly #slow: string;
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });

  constructor(slow: string) {
    super();
    this.#slow = slow;
  }

  open(): void {
    this.#open();
  }

  override async load(docName: string): Promise<StoredDoc> {
    if (docName === this.#slow) await this.#gate;
    return super.load(docName);
  }
}

/** A multiplexed client connection to `core`, past its `Hello` (listing `features`, if any). */
function connect(core: RelayCore, features?: string[]) {
  const conn = new RecordingConnection();
  const handler = core.acceptMultiplexed(conn);
  handler.receive(
    encodeHello({
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      role: 'client',
      id: 't',
      ...(features === undefined ? {} : { features }),
    }),
  );
  return { conn, handler };
}

/** Subscribes to every doc in one frame, each with an empty state vector (a fresh device). */
function subscribe(handler: ConnectionHandler, names: readonly string[]): void {
  handler.receive(
    encodeDocs(
      names.map((docName) => ({
        docName,
        seq: 1,
        message: encodeSyncStep1(new Uint8Array([0])),
      })),
    ),
  );
}

/** Doc names the relay has answered with a step 2, in the order it sent them. */
function answered(conn: RecordingConnection): string[] {
  const names: string[] = [];
  for (const frame of conn.frames()) {
    if (frame.type !== FrameType.Docs) continue;
    for (const { docName, message } of frame.messages) {
      if (message[0] === YMessageType.Sync && message[1] === SyncStep.Step2) names.push(docName);
    }
  }
  return names;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 4000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('MultiplexedSession: a frame that joins many rooms', () => {
  it('answers the docs whose rooms loaded without waiting for a slow one, in frame order', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `w/d${String(i).padStart(3, '0')}`);
    const slow = names[250]!;
    const storage = new GatedStorage(slow);
    for (const name of names) {
      const doc = new Y.Doc();
      doc.getText('body').insert(0, name);
      await storage.append(name, [Y.encodeStateAsUpdate(doc)]);
    }
    const core = new RelayCore({ storage, relayId: 'relay-1', commitWindowMs: 1 });
    const { conn, handler } = connect(core);
    subscribe(handler, names);
    // Every room but the slow one loads: the docs before the slow one's slice are answered.
    await until(() => answered(conn).length >= 128, 'the first slice answered');
    await new Promise((r) => setTimeout(r, 20));
    const early = answered(conn);
    expect(early).toEqual(names.slice(0, early.length));
    expect(early).not.toContain(slow);
    storage.open();
    await until(() => answered(conn).length === names.length, 'every doc answered');
    expect(answered(conn)).toEqual(names);
    handler.closed();
    await core.close();
  });
});

describe('MultiplexedSession: acks', () => {
  async function ackFramesFor(features: string[] | undefined): Promise<number[]> {
    const core = new RelayCore({
      storage: new MemoryStorage(),
      relayId: 'relay-1',
      commitWindowMs: 1,
    });
    const { conn, handler } = connect(core, features);
    const names = ['w/a', 'w/b', 'w/c'];
    subscribe(handler, names);
    const acked = () =>
      conn
        .frames()
        .flatMap((f) =>
          f.type === FrameType.Ack
            ? [f.docName]
            : f.type === FrameType.Acks
              ? f.acks.map((a) => a.docName)
              : [],
        );
    await until(() => acked().length === names.length, 'every doc acked');
    expect(acked().sort()).toEqual(names);
    handler.closed();
    await core.close();
    return conn
      .frames()
      .map((f) => f.type)
      .filter((t) => t === FrameType.Ack || t === FrameType.Acks);
  }

  it('sends the acks of one turn in one Acks frame to a front end that lists the feature', async () => {
    expect(await ackFramesFor([HELLO_FEATURE_ACKS])).toEqual([FrameType.Acks]);
  });

  it('sends one Ack per doc to a front end that does not (an older one)', async () => {
    expect(await ackFramesFor(undefined)).toEqual([FrameType.Ack, FrameType.Ack, FrameType.Ack]);
    expect(await ackFramesFor(['something-else'])).toEqual([
      FrameType.Ack,
      FrameType.Ack,
      FrameType.Ack,
    ]);
  });
});
