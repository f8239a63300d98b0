import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeAck,
  encodeDocs,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  FrameType,
  SyncStep,
  YMessageType,
} from './protocol.ts';
import { putVarUint, varUintSize } from './sizedEncoding.ts';

// The encoders as they were written with lib0's growable encoder: the sized
// ones must produce the very same bytes (other relays and front ends decode them).
function lib0Docs(messages: { docName: string; seq: number; message: Uint8Array }[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Docs);
  encoding.writeVarUint(e, messages.length);
  for (const m of messages) {
    encoding.writeVarString(e, m.docName);
    encoding.writeVarUint(e, m.seq);
    encoding.writeVarUint8Array(e, m.message);
  }
  return encoding.toUint8Array(e);
}

function lib0Ack(docName: string, seq: number, stateVector: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Ack);
  encoding.writeVarString(e, docName);
  encoding.writeVarUint(e, seq);
  encoding.writeVarUint8Array(e, stateVector);
  return encoding.toUint8Array(e);
}

function lib0Sync(step: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, YMessageType.Sync);
  encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

/** Byte equality (vitest's deep equality walks large arrays element by element). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

const seq = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom(127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
// Names with multi-byte and astral characters, and lone surrogates (encoded as U+FFFD by both).
const docName = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
);
// Payloads across lib0's 100-byte first buffer and the varuint length boundaries.
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 0, max: 20_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
);

describe('sized frame encoders', () => {
  it('write the same bytes as lib0 for Docs, Ack and sync messages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ docName, seq, message: bytes }), { maxLength: 5 }),
        (messages) => {
          expect(same(encodeDocs(messages), lib0Docs(messages))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(docName, seq, bytes, (name, n, sv) => {
        expect(same(encodeAck(name, n, sv), lib0Ack(name, n, sv))).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(bytes, (payload) => {
        expect(same(encodeSyncUpdate(payload), lib0Sync(SyncStep.Update, payload))).toBe(true);
        expect(same(encodeSyncStep1(payload), lib0Sync(SyncStep.Step1, payload))).toBe(true);
        expect(same(encodeSyncStep2(payload), lib0Sync(SyncStep.Step2, payload))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('sizes varuints exactly, and a Docs frame decodes back', () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 35, Number.MAX_SAFE_INTEGER]) {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, n);
      const expected = encoding.toUint8Array(e);
      const buf = new Uint8Array(varUintSize(n));
      expect(putVarUint(buf, 0, n)).toBe(expected.length);
      expect(buf).toEqual(expected);
    }
    const frame = encodeDocs([{ docName: 'w1/ü😀', seq: 300, message: Uint8Array.of(1, 2) }]);
    expect(decodeFrame(frame)).toEqual({
      type: FrameType.Docs,
      messages: [{ docName: 'w1/ü😀', seq: 300, message: Uint8Array.of(1, 2) }],
    });
    expect(() => encodeDocs([{ docName: 'x', seq: -1, message: new Uint8Array() }])).toThrow(
      RangeError,
    );
  });
});
