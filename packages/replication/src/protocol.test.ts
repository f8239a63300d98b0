import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeAcks,
  encodeDocs,
  encodeHello,
  encodeSyncUpdate,
  FrameType,
  HELLO_FEATURE_ACKS,
  type HelloInfo,
  isValidDocName,
  MAX_DOC_NAME_BYTES,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  ProtocolError,
} from './protocol.ts';

/** A Docs frame whose doc name is `nameBytes` as given (possibly not UTF-8). */
function docsFrameWithRawName(nameBytes: Uint8Array): Uint8Array {
  const probe = encodeDocs([
    { docName: 'x', seq: 1, message: encodeSyncUpdate(Uint8Array.of(0, 0)) },
  ]);
  // probe: type, count, name length (1), 'x', rest.
  const rest = probe.subarray(4);
  const length: number[] = [];
  for (let v = nameBytes.length; ; v >>>= 7) {
    if (v < 0x80) {
      length.push(v);
      break;
    }
    length.push((v & 0x7f) | 0x80);
  }
  return Uint8Array.from([FrameType.Docs, 1, ...length, ...nameBytes, ...rest]);
}

describe('doc names', () => {
  // Names are measured in UTF-8 bytes; short names skip the encoding, so the
  // shortcut's bound (3 bytes per UTF-16 unit) is what these pin down.
  it('accepts names up to the byte limit and refuses longer ones, in any script', () => {
    expect(MAX_DOC_NAME_BYTES).toBe(512);
    expect(isValidDocName('a'.repeat(512))).toBe(true);
    expect(isValidDocName('a'.repeat(513))).toBe(false);
    expect(isValidDocName('€'.repeat(170))).toBe(true); // 510 bytes
    expect(isValidDocName('€'.repeat(171))).toBe(false); // 513 bytes in 171 units
    expect(isValidDocName(`${'€'.repeat(170)}ab`)).toBe(true); // 512 bytes
    expect(isValidDocName(`${'€'.repeat(170)}abc`)).toBe(false);
    expect(isValidDocName('😀'.repeat(128))).toBe(true); // 512 bytes in 256 units
    expect(isValidDocName('😀'.repeat(129))).toBe(false);
    expect(isValidDocName('')).toBe(false);
    expect(isValidDocName('w1/\u0007')).toBe(false);
  });

  it('refuses a frame whose name is short on the wire but long once decoded', () => {
    // 171 bytes that are not UTF-8 decode to 171 U+FFFD: 513 bytes as a name.
    const frame = docsFrameWithRawName(new Uint8Array(171).fill(0xff));
    expect(() => decodeFrame(frame)).toThrow(ProtocolError);
    const ok = decodeFrame(docsFrameWithRawName(new TextEncoder().encode('w1/n1')));
    expect(ok.type === FrameType.Docs && ok.messages[0]?.docName).toBe('w1/n1');
  });
});

describe('Acks frames and Hello features', () => {
  it('round-trips an Acks frame and refuses an empty or truncated one', () => {
    const acks = [
      { docName: 'w/a', seq: 3, stateVector: Uint8Array.of(1, 2, 3) },
      { docName: 'w/€', seq: 300, stateVector: Uint8Array.of(0) },
    ];
    const frame = encodeAcks(acks);
    expect(decodeFrame(frame)).toEqual({ type: FrameType.Acks, acks });
    expect(() => encodeAcks([])).toThrow(RangeError);
    expect(() => decodeFrame(Uint8Array.of(FrameType.Acks, 0))).toThrow(ProtocolError);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 1))).toThrow(ProtocolError);
  });

  it('keeps the features a Hello lists, and refuses a malformed list', () => {
    const hello: HelloInfo = {
      protocol: PROTOCOL_NAME,
      version: PROTOCOL_VERSION,
      role: 'client',
      features: [HELLO_FEATURE_ACKS, 'something-newer'],
    };
    expect(decodeFrame(encodeHello(hello))).toEqual({ type: FrameType.Hello, hello });
    for (const features of ['acks', [1], Array(33).fill('a'), ['x'.repeat(65)]]) {
      expect(() =>
        decodeFrame(encodeHello({ ...hello, features } as unknown as typeof hello)),
      ).toThrow(ProtocolError);
    }
  });
});
