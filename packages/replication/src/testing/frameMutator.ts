/**
 * Mutations of captured wire frames for fuzzing a relay: each keeps most of a
 * real frame's structure (so the mutant gets past the first decoding layer
 * often enough to reach the deeper ones) and breaks one thing.
 */

/** A source of uniform numbers in [0, 1), seeded for reproducible runs. */
export type Random = () => number;

/** A small, fast seeded PRNG (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MUTATIONS = [
  'bitFlip',
  'byteSet',
  'truncate',
  'splice',
  'varintCorrupt',
  'countInflate',
  'duplicateRange',
  'typeSwap',
  'insertBytes',
  'deleteRange',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

/** A varuint of `value` (lib0 encoding), for inflating counts and lengths. */
function varuint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push(0x80 | (v % 0x80));
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

const BIG_VALUES = [0x7f, 0x80, 0xff, 0x3fff, 0xffff, 0xffffffff, 2 ** 40, 2 ** 53 - 1];

/**
 * Returns a mutant of `frame` (never `frame` itself) made by `mutation`, or by
 * a random one; `corpus` supplies the other half of splices.
 */
export function mutateFrame(
  frame: Uint8Array,
  random: Random,
  corpus: readonly Uint8Array[] = [],
  mutation: Mutation = MUTATIONS[int(random, MUTATIONS.length)]!,
): Uint8Array {
  const bytes = [...frame];
  const at = () => int(random, Math.max(1, bytes.length));
  switch (mutation) {
    case 'bitFlip': {
      const flips = 1 + int(random, 3);
      for (let i = 0; i < flips && bytes.length > 0; i++) {
        const p = at();
        bytes[p] = bytes[p]! ^ (1 << int(random, 8));
      }
      break;
    }
    case 'byteSet': {
      if (bytes.length > 0) bytes[at()] = [0, 0x7f, 0x80, 0xff][int(random, 4)]!;
      break;
    }
    case 'truncate':
      bytes.length = int(random, bytes.length);
      break;
    case 'splice': {
      const other = corpus.length > 0 ? corpus[int(random, corpus.length)]! : frame;
      const head = bytes.slice(0, at());
      const tail = [...other.subarray(int(random, other.length + 1))];
      return new Uint8Array([...head, ...tail]);
    }
    case 'varintCorrupt': {
      // Set continuation bits on a run of bytes: varints swallow their neighbours or run off the end.
      const p = at();
      const run = 1 + int(random, 6);
      for (let i = p; i < Math.min(bytes.length, p + run); i++) bytes[i] = bytes[i]! | 0x80;
      break;
    }
    case 'countInflate': {
      // Replace a small byte (likely a count or length) with a large varint.
      const small = bytes.flatMap((b, i) => (b > 0 && b < 0x40 ? [i] : []));
      const p = small.length > 0 ? small[int(random, small.length)]! : at();
      const big = varuint(BIG_VALUES[int(random, BIG_VALUES.length)]!);
      bytes.splice(p, 1, ...big);
      break;
    }
    case 'duplicateRange': {
      const p = at();
      const len = 1 + int(random, Math.min(64, bytes.length - p + 1));
      bytes.splice(p, 0, ...bytes.slice(p, p + len));
      break;
    }
    case 'typeSwap':
      // The first varuint is the frame type (or y-websocket message type).
      if (bytes.length > 0) bytes[0] = int(random, 12);
      else bytes.push(int(random, 12));
      break;
    case 'insertBytes': {
      const n = 1 + int(random, 8);
      const noise = Array.from({ length: n }, () => int(random, 256));
      bytes.splice(at(), 0, ...noise);
      break;
    }
    case 'deleteRange': {
      const p = at();
      bytes.splice(p, 1 + int(random, 8));
      break;
    }
  }
  const out = new Uint8Array(bytes);
  // A mutation that changed nothing (e.g. byteSet to the same value) is not a mutant.
  if (out.length === frame.length && out.every((b, i) => b === frame[i])) {
    return new Uint8Array([...bytes, int(random, 256)]);
  }
  return out;
}
