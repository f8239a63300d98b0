/**
 * The Lattice wire protocol: the one place where frame types, close codes and
 * encoders live. Both the front end and the relay import it; nothing else may
 * spell a frame type or close code as a number.
 *
 * Two kinds of connection meet in a relay's rooms:
 *
 * - **Plain y-websocket** (`/ws/<docName>`): one doc per socket, every frame is
 *   a standard y-websocket message (`YMessageType` + y-protocols payload).
 *   Peers on this path never see Lattice extras.
 * - **Lattice multiplexed** (`/sync`): one socket for many docs. The first
 *   frame from the client must be `Hello`; the relay answers with its own
 *   `Hello`. Every later frame starts with a `FrameType`.
 *
 * Frames are binary, built from lib0 varints/varstrings (the same primitives
 * y-protocols uses), so they can be decoded without trusting any length.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { putVarBytes, putVarUint, utf8Bytes, varBytesSize, varUintSize } from './sizedEncoding.ts';

/** Protocol version announced in `Hello`; bump on incompatible change (2: `Docs` entries and `Leave` carry a `seq`). */
export const PROTOCOL_VERSION = 2;
/** Name announced in `Hello` so a relay can tell Lattice front ends apart. */
export const PROTOCOL_NAME = 'lattice';

/** URL path of the multiplexed endpoint. */
export const SYNC_PATH = '/sync';
/** URL path prefix of the plain y-websocket endpoint (`/ws/<docName>`). */
export const YWS_PATH_PREFIX = '/ws/';

/**
 * Default maximum size of one frame in bytes (both directions; the relay's
 * `--max-frame-bytes`). Sixteen batches of `TARGET_BATCH_BYTES`: a single
 * larger message is a whole doc in one update, far beyond a notes doc.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Front ends split batches so one frame stays under this many bytes. */
export const TARGET_BATCH_BYTES = 1024 * 1024;
/** Longest doc name accepted, in UTF-8 bytes. */
export const MAX_DOC_NAME_BYTES = 512;

/** First varuint of every frame on the multiplexed socket. */
export const FrameType = {
  /** Handshake: JSON `HelloInfo`. Must be the first frame in each direction. */
  Hello: 0,
  /** One or more (docName, seq, y-websocket message) entries; the unit of sync. */
  Docs: 1,
  /**
   * Relay → front end: every message of this socket for `docName` numbered up
   * to `seq` has been received and durably stored, and the relay held
   * `stateVector` durably when it said so.
   */
  Ack: 2,
  /** Front end → relay: stop sending this doc; drop my awareness in it. `seq`: the last number sent for it before leaving. */
  Leave: 3,
  /** Relay → front end: a doc-scoped refusal (bad doc name, …); the socket stays open. */
  DocError: 4,
  /** Either side: liveness probe (`reply` = 0) and its answer (`reply` = 1). */
  Heartbeat: 5,
  /**
   * Relay → front end (Lattice clients only): relay `relayId` (a peer of the
   * relay we are connected to) durably holds `stateVector` of `docName`.
   */
  ClusterAck: 6,
  /**
   * Relay ↔ relay (peer links only), anti-entropy step 1: the sender's hash
   * tree root level — one 64-bit hash per bucket of `DIGEST_BUCKETS` (docs by
   * hash of their name). `reply` = 0 asks the receiver to answer with its own
   * `Digest` (reply = 1); either way the receiver answers with `DigestDocs`.
   */
  Digest: 7,
  /**
   * Relay ↔ relay, anti-entropy step 2: for the buckets whose hashes differed,
   * every doc the sender durably holds there with its fingerprint and state
   * vector. The receiver sends `SyncStep1` for each doc that differs or that
   * only one side holds.
   */
  DigestDocs: 8,
  /**
   * Relay → front end: several `Ack`s in one frame, each (docName, seq,
   * stateVector) meaning what an `Ack` means. Sent only to a front end whose
   * `Hello` lists `HELLO_FEATURE_ACKS`; any other gets one `Ack` frame per doc.
   */
  Acks: 9,
} as const;

/**
 * `HelloInfo.features` entry: the front end reads `Acks` frames. A fresh
 * device subscribing to 1,000 docs got 1,000 `Ack` frames, one main-thread
 * task each (bench `coldload`).
 */
export const HELLO_FEATURE_ACKS = 'acks';
/** At most this many `features` in a `Hello`, each at most `MAX_FEATURE_CHARS` long; more is malformed. */
const MAX_FEATURES = 32;
const MAX_FEATURE_CHARS = 64;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** First varuint of a standard y-websocket message (also the payload of `Docs` entries). */
export const YMessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
} as const;
export type YMessageType = (typeof YMessageType)[keyof typeof YMessageType];

/** Second varuint of a `YMessageType.Sync` message (as in y-protocols/sync). */
export const SyncStep = {
  Step1: 0,
  Step2: 1,
  Update: 2,
} as const;
export type SyncStep = (typeof SyncStep)[keyof typeof SyncStep];

/** WebSocket close codes used by the relay and front end (4000–4999 are application codes). */
export const CloseCode = {
  Normal: 1000,
  /** Relay shutting down; the front end reconnects (elsewhere). */
  GoingAway: 1001,
  /** Frame over the size limit. */
  TooBig: 1009,
  /** Frame could not be decoded, or the first frame was not a valid `Hello`. */
  MalformedFrame: 4400,
  /** `Hello` named an unsupported protocol or version. */
  UnsupportedVersion: 4426,
  /** The handshake did not complete in time. */
  HandshakeTimeout: 4408,
  /** Heartbeats went unanswered: the link is considered dead. */
  HeartbeatTimeout: 4410,
  /**
   * Peer links: the two relays already have a link (both dialed each other);
   * this one loses (the one dialed by the smaller relay id wins). The losing
   * dialer re-dials only after the winning link drops.
   */
  DuplicatePeer: 4409,
  /** Internal relay error while handling this connection; others carry on. */
  InternalError: 4500,
  /** Hostile or abusive input without a finer code (RFC 6455 policy violation). */
  PolicyViolation: 1008,
  /** The relay is at a connection limit; try again later (or another relay). */
  TryAgainLater: 1013,
  /** No token, or a token the relay cannot verify (bad signature, unknown key, malformed). */
  Unauthorized: 4401,
  /** A valid token that does not grant this: revoked, another workspace, or `role: 'peer'` without cluster credentials. */
  Forbidden: 4403,
  /** The token (share link) has expired; live sessions are closed with this at the expiry time. */
  TokenExpired: 4419,
  /** A flood beyond the per-connection limits (messages, bytes, awareness clients). */
  RateLimited: 4429,
  /** An update the relay will not apply: fails the bounded structural check (update "bombs"). */
  UpdateRejected: 4422,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes in `DocError` frames. */
export const DocErrorCode = {
  InvalidDocName: 1,
  Internal: 2,
  /** The socket's token grants read access only: the update was dropped (never stored or forwarded). */
  ReadOnly: 3,
  /** The doc is outside the token's workspace (or reserved for relays). */
  Forbidden: 4,
  /** The socket already has the maximum number of docs subscribed. */
  TooManyDocs: 5,
} as const;
export type DocErrorCode = (typeof DocErrorCode)[keyof typeof DocErrorCode];

/** Buckets of an anti-entropy `Digest` (docs are spread by a hash of their name). */
export const DIGEST_BUCKETS = 256;
/** Bytes of a per-doc fingerprint and of a bucket hash (64-bit). */
export const FINGERPRINT_BYTES = 8;

/** One doc of a `DigestDocs` frame. */
export interface DigestDocEntry {
  docName: string;
  /** 64-bit hash of the doc's durable Yjs snapshot (state vector and delete set). */
  fingerprint: Uint8Array;
  /** The doc's durable state vector (encoded as by `Y.encodeStateVector`). */
  stateVector: Uint8Array;
}

/** Contents of a `Hello` frame. */
export interface HelloInfo {
  protocol: typeof PROTOCOL_NAME;
  version: number;
  /** Who is speaking: `client` (front end), `relay`, or `peer` (relay→relay, gossip issue). */
  role: 'client' | 'relay' | 'peer';
  /** Stable id of the relay (relay hellos) or session (client hellos). */
  id?: string;
  /** The speaker's public base URL (`http://host:port`), when it knows one (relay and peer hellos). */
  url?: string;
  /**
   * Relay → client: what this socket may do (`full`: the relay runs with
   * `--auth off`). Clients show read-only mode for `read`.
   */
  access?: HelloAccess;
  /** Peer hellos: proof of the cluster secret (a short-lived signed token), checked by the other relay. */
  proof?: string;
  /**
   * Optional extras the speaker understands (`HELLO_FEATURE_ACKS`); the other
   * side uses one only when it is listed, so either side may be older.
   * Unknown names are ignored.
   */
  features?: string[];
}

/** What a relay tells a client it may do on this socket. */
export type HelloAccess = 'read' | 'write' | 'owner' | 'full';
const HELLO_ACCESS: readonly string[] = ['read', 'write', 'owner', 'full'];

/** One entry of a `Docs` frame: a y-websocket message about `docName`. */
export interface DocMessage {
  docName: string;
  message: Uint8Array;
  /**
   * Front end → relay: this message's number among the sync messages
   * (`SyncStep1`, `SyncStep2`, `Update`) the front end sent for `docName` on
   * this connection, from 1; what `Ack` counts. 0 or absent: unnumbered
   * (awareness, relay → front end, tabs).
   */
  seq?: number;
}

/** One entry of an `Acks` frame (the fields of an `Ack`). */
export interface AckEntry {
  docName: string;
  seq: number;
  stateVector: Uint8Array;
}

/** A decoded frame from the multiplexed socket. */
export type Frame =
  | { type: typeof FrameType.Hello; hello: HelloInfo }
  | { type: typeof FrameType.Docs; messages: Required<DocMessage>[] }
  | { type: typeof FrameType.Ack; docName: string; seq: number; stateVector: Uint8Array }
  | { type: typeof FrameType.Acks; acks: AckEntry[] }
  | { type: typeof FrameType.Leave; docName: string; seq: number }
  | { type: typeof FrameType.DocError; docName: string; code: DocErrorCode; reason: string }
  | { type: typeof FrameType.Heartbeat; nonce: number; reply: boolean }
  | {
      type: typeof FrameType.ClusterAck;
      docName: string;
      relayId: string;
      stateVector: Uint8Array;
    }
  | { type: typeof FrameType.Digest; reply: boolean; buckets: Uint8Array }
  | { type: typeof FrameType.DigestDocs; buckets: number[]; entries: DigestDocEntry[] };

/** Thrown by decoders on malformed input; maps to `CloseCode.MalformedFrame`. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const utf8 = new TextEncoder();

/** Is `name` acceptable as a doc name (non-empty, bounded, no control characters)? */
export function isValidDocName(name: string): boolean {
  if (name.length === 0) return false;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: short names (every real
  // one) need no encoding to learn they fit. Every frame's doc names pass here.
  if (name.length * 3 > MAX_DOC_NAME_BYTES && utf8.encode(name).length > MAX_DOC_NAME_BYTES) {
    return false;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return !/[\u0000-\u001f\u007f]/.test(name);
}

export function encodeHello(hello: HelloInfo): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Hello);
  encoding.writeVarString(e, JSON.stringify(hello));
  return encoding.toUint8Array(e);
}

/** Encodes a `Docs` frame; use `splitDocMessages` first to keep frames bounded. */
export function encodeDocs(messages: readonly DocMessage[]): Uint8Array {
  return encodeEntries(
    FrameType.Docs,
    messages.map((m) => m.docName),
    messages.map((m) => m.seq ?? 0),
    messages.map((m) => m.message),
  );
}

/**
 * The layout `Docs` and `Acks` share: type, count, then per entry a doc name,
 * a number and bytes. Sized first, written once: the relay builds one of
 * these per fanned-out update.
 */
function encodeEntries(
  type: number,
  docNames: readonly string[],
  seqs: readonly number[],
  payloads: readonly Uint8Array[],
): Uint8Array {
  const names = docNames.map(utf8Bytes);
  let size = varUintSize(type) + varUintSize(names.length);
  for (let i = 0; i < names.length; i++) {
    size += varBytesSize(names[i] as Uint8Array) + varUintSize(checkSeq(seqs[i] as number));
    size += varBytesSize(payloads[i] as Uint8Array);
  }
  const frame = new Uint8Array(size);
  let pos = putVarUint(frame, 0, type);
  pos = putVarUint(frame, pos, names.length);
  for (let i = 0; i < names.length; i++) {
    pos = putVarBytes(frame, pos, names[i] as Uint8Array);
    pos = putVarUint(frame, pos, seqs[i] as number);
    pos = putVarBytes(frame, pos, payloads[i] as Uint8Array);
  }
  return frame;
}

export function encodeDoc(docName: string, message: Uint8Array, seq = 0): Uint8Array {
  return encodeDocs([{ docName, message, seq }]);
}

function checkSeq(seq: number): number {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`seq must be a non-negative safe integer, got ${seq}`);
  }
  return seq;
}

export function encodeAck(docName: string, seq: number, stateVector: Uint8Array): Uint8Array {
  const name = utf8Bytes(docName);
  const frame = new Uint8Array(
    varUintSize(FrameType.Ack) + varBytesSize(name) + varUintSize(seq) + varBytesSize(stateVector),
  );
  let pos = putVarUint(frame, 0, FrameType.Ack);
  pos = putVarBytes(frame, pos, name);
  pos = putVarUint(frame, pos, seq);
  putVarBytes(frame, pos, stateVector);
  return frame;
}

/** Encodes an `Acks` frame (at least one entry); only for a front end whose `Hello` listed `HELLO_FEATURE_ACKS`. */
export function encodeAcks(acks: readonly AckEntry[]): Uint8Array {
  if (acks.length === 0) throw new RangeError('an Acks frame needs at least one ack');
  return encodeEntries(
    FrameType.Acks,
    acks.map((a) => a.docName),
    acks.map((a) => a.seq),
    acks.map((a) => a.stateVector),
  );
}

/**
 * `seq` is the highest number the front end sent for `docName` on this
 * connection before leaving: a relay that already received a later message
 * (frames may arrive reordered) knows the Leave is stale and ignores it.
 */
export function encodeLeave(docName: string, seq = 0): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Leave);
  encoding.writeVarString(e, docName);
  encoding.writeVarUint(e, checkSeq(seq));
  return encoding.toUint8Array(e);
}

export function encodeDocError(docName: string, code: DocErrorCode, reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.DocError);
  encoding.writeVarString(e, docName);
  encoding.writeVarUint(e, code);
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}

/** `relayId` (a peer relay) durably holds `stateVector` of `docName`. */
export function encodeClusterAck(
  docName: string,
  relayId: string,
  stateVector: Uint8Array,
): Uint8Array {
  if (relayId.length === 0) throw new RangeError('ClusterAck needs a relay id');
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.ClusterAck);
  encoding.writeVarString(e, docName);
  encoding.writeVarString(e, relayId);
  encoding.writeVarUint8Array(e, stateVector);
  return encoding.toUint8Array(e);
}

/** `buckets`: `DIGEST_BUCKETS` × `FINGERPRINT_BYTES` bytes, bucket 0 first. */
export function encodeDigest(buckets: Uint8Array, reply: boolean): Uint8Array {
  if (buckets.length !== DIGEST_BUCKETS * FINGERPRINT_BYTES) {
    throw new RangeError(
      `Digest needs ${DIGEST_BUCKETS * FINGERPRINT_BYTES} bytes of bucket hashes, got ${buckets.length}`,
    );
  }
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Digest);
  encoding.writeVarUint(e, reply ? 1 : 0);
  encoding.writeVarUint8Array(e, buckets);
  return encoding.toUint8Array(e);
}

/** The docs held in `buckets` (sorted bucket numbers) with their fingerprints. */
export function encodeDigestDocs(
  buckets: readonly number[],
  entries: readonly DigestDocEntry[],
): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.DigestDocs);
  encoding.writeVarUint(e, buckets.length);
  for (const b of buckets) {
    if (!Number.isInteger(b) || b < 0 || b >= DIGEST_BUCKETS) {
      throw new RangeError(`digest bucket must be an integer below ${DIGEST_BUCKETS}, got ${b}`);
    }
    encoding.writeVarUint(e, b);
  }
  encoding.writeVarUint(e, entries.length);
  for (const entry of entries) {
    if (entry.fingerprint.length !== FINGERPRINT_BYTES) {
      throw new RangeError(`fingerprint must be ${FINGERPRINT_BYTES} bytes`);
    }
    encoding.writeVarString(e, entry.docName);
    encoding.writeUint8Array(e, entry.fingerprint);
    encoding.writeVarUint8Array(e, entry.stateVector);
  }
  return encoding.toUint8Array(e);
}

export function encodeHeartbeat(nonce: number, reply: boolean): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, FrameType.Heartbeat);
  encoding.writeVarUint(e, nonce);
  encoding.writeVarUint(e, reply ? 1 : 0);
  return encoding.toUint8Array(e);
}

/**
 * Groups doc messages into batches of at most `targetBytes` each (a single
 * message larger than that travels alone), preserving order.
 */
export function splitDocMessages(
  messages: readonly DocMessage[],
  targetBytes: number = TARGET_BATCH_BYTES,
): DocMessage[][] {
  // Varint overhead of the entry: name length, seq, message length.
  return splitByCost(messages, (m) => m.message.length + m.docName.length + 16, targetBytes);
}

/** Groups acks into `Acks` frames' worth of at most `targetBytes` each, preserving order. */
export function splitAcks(
  acks: readonly AckEntry[],
  targetBytes: number = TARGET_BATCH_BYTES,
): AckEntry[][] {
  // A UTF-16 unit is at most 3 UTF-8 bytes; 16 covers the varints.
  return splitByCost(acks, (a) => a.docName.length * 3 + a.stateVector.length + 16, targetBytes);
}

function splitByCost<T>(
  items: readonly T[],
  cost: (item: T) => number,
  targetBytes: number,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemCost = cost(item);
    if (current.length > 0 && size + itemCost > targetBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemCost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function readDocName(d: decoding.Decoder): string {
  const name = decoding.readVarString(d);
  if (!isValidDocName(name)) throw new ProtocolError('invalid doc name');
  return name;
}

/**
 * Decodes one multiplexed frame. Throws `ProtocolError` on anything malformed:
 * unknown type, truncated varints, trailing bytes, invalid doc names, bad JSON.
 * Counts are checked against the bytes left, so no input allocates more than
 * its own size.
 */
export function decodeFrame(data: Uint8Array): Frame {
  const d = decoding.createDecoder(data);
  try {
    const type = decoding.readVarUint(d);
    let frame: Frame;
    switch (type) {
      case FrameType.Hello: {
        const hello = parseHello(decoding.readVarString(d));
        frame = { type, hello };
        break;
      }
      case FrameType.Docs: {
        const count = decoding.readVarUint(d);
        // Each entry takes at least three bytes (three varints).
        if (count === 0 || count * 3 > data.length - d.pos) {
          throw new ProtocolError('bad message count');
        }
        const messages: Required<DocMessage>[] = [];
        for (let i = 0; i < count; i++) {
          const docName = readDocName(d);
          const seq = decoding.readVarUint(d);
          const message = decoding.readVarUint8Array(d);
          if (message.length === 0) throw new ProtocolError('empty doc message');
          messages.push({ docName, seq, message });
        }
        frame = { type, messages };
        break;
      }
      case FrameType.Ack: {
        const docName = readDocName(d);
        const seq = decoding.readVarUint(d);
        const stateVector = decoding.readVarUint8Array(d);
        frame = { type, docName, seq, stateVector };
        break;
      }
      case FrameType.Acks: {
        const count = decoding.readVarUint(d);
        // Each entry takes at least three bytes (a name byte, a seq, a length).
        if (count === 0 || count * 3 > data.length - d.pos) {
          throw new ProtocolError('bad ack count');
        }
        const acks: AckEntry[] = [];
        for (let i = 0; i < count; i++) {
          const docName = readDocName(d);
          const seq = decoding.readVarUint(d);
          acks.push({ docName, seq, stateVector: decoding.readVarUint8Array(d) });
        }
        frame = { type, acks };
        break;
      }
      case FrameType.Leave: {
        const docName = readDocName(d);
        frame = { type, docName, seq: decoding.readVarUint(d) };
        break;
      }
      case FrameType.DocError: {
        const docName = decoding.readVarString(d);
        const code = decoding.readVarUint(d) as DocErrorCode;
        const reason = decoding.readVarString(d);
        frame = { type, docName, code, reason };
        break;
      }
      case FrameType.Heartbeat: {
        const nonce = decoding.readVarUint(d);
        const reply = decoding.readVarUint(d) === 1;
        frame = { type, nonce, reply };
        break;
      }
      case FrameType.ClusterAck: {
        const docName = readDocName(d);
        const relayId = decoding.readVarString(d);
        if (relayId.length === 0) throw new ProtocolError('ClusterAck without a relay id');
        const stateVector = decoding.readVarUint8Array(d);
        frame = { type, docName, relayId, stateVector };
        break;
      }
      case FrameType.Digest: {
        const reply = decoding.readVarUint(d) === 1;
        const buckets = decoding.readVarUint8Array(d);
        if (buckets.length !== DIGEST_BUCKETS * FINGERPRINT_BYTES) {
          throw new ProtocolError(`digest has ${buckets.length} bytes of bucket hashes`);
        }
        frame = { type, reply, buckets };
        break;
      }
      case FrameType.DigestDocs: {
        const bucketCount = decoding.readVarUint(d);
        if (bucketCount > DIGEST_BUCKETS) throw new ProtocolError('too many digest buckets');
        const buckets: number[] = [];
        for (let i = 0; i < bucketCount; i++) {
          const b = decoding.readVarUint(d);
          if (b >= DIGEST_BUCKETS) throw new ProtocolError(`digest bucket ${b} out of range`);
          buckets.push(b);
        }
        const count = decoding.readVarUint(d);
        // Each entry takes at least a name byte, the fingerprint and a length byte.
        if (count * (FINGERPRINT_BYTES + 2) > data.length - d.pos) {
          throw new ProtocolError('bad digest entry count');
        }
        const entries: DigestDocEntry[] = [];
        for (let i = 0; i < count; i++) {
          const docName = readDocName(d);
          if (d.pos + FINGERPRINT_BYTES > data.length)
            throw new ProtocolError('truncated fingerprint');
          const fingerprint = decoding.readUint8Array(d, FINGERPRINT_BYTES).slice();
          const stateVector = decoding.readVarUint8Array(d);
          entries.push({ docName, fingerprint, stateVector });
        }
        frame = { type, buckets, entries };
        break;
      }
      default:
        throw new ProtocolError(`unknown frame type ${type}`);
    }
    if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes after frame');
    return frame;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed frame: ${(err as Error).message}`);
  }
}

function parseHello(json: string): HelloInfo {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ProtocolError('hello is not JSON');
  }
  if (typeof value !== 'object' || value === null)
    throw new ProtocolError('hello is not an object');
  const v = value as Record<string, unknown>;
  if (v.protocol !== PROTOCOL_NAME) throw new ProtocolError('hello names another protocol');
  if (typeof v.version !== 'number' || !Number.isInteger(v.version)) {
    throw new ProtocolError('hello has no version');
  }
  if (v.role !== 'client' && v.role !== 'relay' && v.role !== 'peer') {
    throw new ProtocolError('hello has no valid role');
  }
  const hello: HelloInfo = { protocol: PROTOCOL_NAME, version: v.version, role: v.role };
  if (typeof v.id === 'string') hello.id = v.id;
  if (typeof v.url === 'string') hello.url = v.url;
  if (typeof v.access === 'string' && HELLO_ACCESS.includes(v.access)) {
    hello.access = v.access as HelloAccess;
  }
  if (typeof v.proof === 'string') hello.proof = v.proof;
  if (v.features !== undefined) {
    const features = v.features;
    if (
      !Array.isArray(features) ||
      features.length > MAX_FEATURES ||
      !features.every((f) => typeof f === 'string' && f.length <= MAX_FEATURE_CHARS)
    ) {
      throw new ProtocolError('hello features must be a short list of short strings');
    }
    hello.features = features as string[];
  }
  return hello;
}

// ---- y-websocket message helpers (payloads of Docs entries and of /ws/ frames) ----

/** `[0, 0]`: an update with no structs and no deletions (what an up-to-date peer sends as `SyncStep2`). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  return update.length === 2 && update[0] === 0 && update[1] === 0;
}

/** `Sync` message carrying sync step 1 (our state vector). */
export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return encodeSyncMessage(SyncStep.Step1, stateVector);
}

/** `Sync` message carrying sync step 2 (an update answering a step 1). */
export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return encodeSyncMessage(SyncStep.Step2, update);
}

/** `Sync` message carrying a live update. */
export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return encodeSyncMessage(SyncStep.Update, update);
}

function encodeSyncMessage(step: SyncStep, payload: Uint8Array): Uint8Array {
  const message = new Uint8Array(
    varUintSize(YMessageType.Sync) + varUintSize(step) + varBytesSize(payload),
  );
  putVarBytes(
    message,
    putVarUint(message, putVarUint(message, 0, YMessageType.Sync), step),
    payload,
  );
  return message;
}

/** `Awareness` message wrapping an encoded awareness update. */
export function encodeAwarenessMessage(awarenessUpdate: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, YMessageType.Awareness);
  encoding.writeVarUint8Array(e, awarenessUpdate);
  return encoding.toUint8Array(e);
}

/** A decoded y-websocket message. */
export type YMessage =
  | { type: typeof YMessageType.Sync; step: SyncStep; payload: Uint8Array }
  | { type: typeof YMessageType.Awareness; update: Uint8Array }
  | { type: typeof YMessageType.Auth; payload: Uint8Array }
  | { type: typeof YMessageType.QueryAwareness };

/** Decodes a y-websocket message; throws `ProtocolError` when malformed. */
export function decodeYMessage(message: Uint8Array): YMessage {
  const d = decoding.createDecoder(message);
  try {
    const type = decoding.readVarUint(d);
    switch (type) {
      case YMessageType.Sync: {
        const step = decoding.readVarUint(d);
        if (step !== SyncStep.Step1 && step !== SyncStep.Step2 && step !== SyncStep.Update) {
          throw new ProtocolError(`unknown sync step ${step}`);
        }
        return { type, step, payload: decoding.readVarUint8Array(d) };
      }
      case YMessageType.Awareness:
        return { type, update: decoding.readVarUint8Array(d) };
      case YMessageType.Auth:
        return { type, payload: decoding.readTailAsUint8Array(d) };
      case YMessageType.QueryAwareness:
        return { type };
      default:
        throw new ProtocolError(`unknown y-websocket message type ${type}`);
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed y-websocket message: ${(err as Error).message}`);
  }
}
