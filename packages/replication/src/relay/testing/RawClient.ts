import * as Y from 'yjs';
import {
  decodeFrame,
  decodeYMessage,
  encodeDocs,
  encodeHello,
  encodeSyncStep1,
  encodeSyncUpdate,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncStep,
  YMessageType,
} from '../../protocol.ts';
import type { RelayCore } from '../RelayCore.ts';
import { RecordingConnection } from './RecordingConnection.ts';

/**
 * A Lattice client on a relay, driven with raw frames: subscribes docs,
 * sends numbered updates, and keeps a `Y.Doc` per doc from what arrives.
 */
export class RawClient {
  readonly conn = new RecordingConnection();
  readonly #handler: ReturnType<RelayCore['acceptMultiplexed']>;
  readonly #seq = new Map<string, number>();
  readonly docs = new Map<string, Y.Doc>();

  constructor(core: RelayCore, id = 'client') {
    this.#handler = core.acceptMultiplexed(this.conn);
    this.#handler.receive(
      encodeHello({ protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, role: 'client', id }),
    );
  }

  doc(docName: string): Y.Doc {
    let doc = this.docs.get(docName);
    if (doc === undefined) {
      doc = new Y.Doc();
      this.docs.set(docName, doc);
    }
    return doc;
  }

  #next(docName: string): number {
    const seq = (this.#seq.get(docName) ?? 0) + 1;
    this.#seq.set(docName, seq);
    return seq;
  }

  subscribe(docName: string): number {
    const seq = this.#next(docName);
    const sv = Y.encodeStateVector(this.doc(docName));
    this.#handler.receive(encodeDocs([{ docName, seq, message: encodeSyncStep1(sv) }]));
    return seq;
  }

  /** Applies `change` to the local doc and sends the update; returns its seq. */
  edit(docName: string, change: (doc: Y.Doc) => void): number {
    const doc = this.doc(docName);
    const before = Y.encodeStateVector(doc);
    change(doc);
    const update = Y.encodeStateAsUpdate(doc, before);
    const seq = this.#next(docName);
    this.#handler.receive(encodeDocs([{ docName, seq, message: encodeSyncUpdate(update) }]));
    return seq;
  }

  /** Applies every update the relay sent for `docName` so far to the local doc. */
  absorb(docName: string): Y.Doc {
    const doc = this.doc(docName);
    for (const frame of this.conn.sent.map((f) => decodeFrame(f))) {
      if (frame.type !== FrameType.Docs) continue;
      for (const m of frame.messages) {
        if (m.docName !== docName) continue;
        const msg = decodeYMessage(m.message);
        if (msg.type === YMessageType.Sync && msg.step !== SyncStep.Step1) {
          Y.applyUpdate(doc, msg.payload);
        }
      }
    }
    return doc;
  }

  /** Waits until the relay's updates make `check(doc)` true. */
  waitFor(docName: string, check: (doc: Y.Doc) => boolean, timeoutMs = 3000): Promise<Y.Doc> {
    return this.conn.waitFor(() => {
      const doc = this.absorb(docName);
      return check(doc) ? doc : undefined;
    }, timeoutMs);
  }

  close(): void {
    this.#handler.closed();
  }
}
