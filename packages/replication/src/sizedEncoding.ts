/**
 * Exact-size writers for the hot frames (`Docs`, `Ack`, a sync message): the
 * same bytes as lib0's `writeVarUint` / `writeVarString` / `writeVarUint8Array`,
 * written into one buffer of the final size. lib0's growable encoder starts
 * at 100 bytes and concatenates on `toUint8Array`: three or four
 * allocations per frame, and a relay under fan-out builds several frames
 * per edit (bench/README.md, "Fan-out", fourth round).
 */

const utf8 = new TextEncoder();

/** Bytes `writeVarUint(n)` takes. */
export function varUintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` as lib0's varuint at `pos`; returns the position after it. */
export function putVarUint(buf: Uint8Array, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = 0x80 | (n & 0x7f);
    n = Math.floor(n / 128);
  }
  buf[pos++] = n & 0x7f;
  return pos;
}

/** Writes `bytes` prefixed with its length (lib0's `writeVarUint8Array`); returns the position after it. */
export function putVarBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = putVarUint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** Bytes `putVarBytes(bytes)` takes. */
export function varBytesSize(bytes: Uint8Array): number {
  return varUintSize(bytes.length) + bytes.length;
}

/** A string's UTF-8 bytes, as `writeVarString` writes them (after their length). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}
