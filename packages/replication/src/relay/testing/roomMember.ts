import * as Y from 'yjs';
import { decodeYMessage, SyncStep, type YMessage, YMessageType } from '../../protocol.ts';
import type { RoomMember } from '../Room.ts';

/** A room member that records what the room sent it and acknowledged. */
export interface TestMember extends RoomMember {
  sent: YMessage[];
  /** One entry per `ack` call (one per commit). */
  acks: { seqs: readonly number[]; stateVector: Uint8Array }[];
}

export function member(): TestMember {
  const m: TestMember = {
    sent: [],
    acks: [],
    send: (message) => m.sent.push(decodeYMessage(message)),
    ack: (seqs, stateVector) => m.acks.push({ seqs: [...seqs], stateVector }),
  };
  return m;
}

/** A client-side edit to the doc's `body`, returned as the update it produced. */
export function edit(doc: Y.Doc, text: string, index = 0): Uint8Array {
  const before = Y.encodeStateVector(doc);
  doc.getText('body').insert(index, text);
  return Y.encodeStateAsUpdate(doc, before);
}

/** A subscriber's SyncStep1 carrying `stateVector`. */
export function step1(stateVector: Uint8Array): YMessage {
  return { type: YMessageType.Sync, step: SyncStep.Step1, payload: stateVector };
}

/** The `body` text of a doc built from `updates`. */
export function textOf(...updates: Uint8Array[]): string {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc.getText('body').toString();
}
