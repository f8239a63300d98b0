/**
 * Bounded structural checks of what clients ask the relay to apply: Yjs v1
 * updates and y-protocols awareness updates. Yjs trusts its input — a crafted
 * update can make it allocate from a declared count, throw halfway through
 * applying (leaving the doc changed but nothing stored), or create a subdoc
 * per few bytes. These walkers read the same binary format with every count
 * checked against the bytes left, every length and clock bounded, and no
 * recursion deeper than a fixed limit, so a check costs time and memory
 * proportional to the input and nothing that passes makes Yjs' decoder fail.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { CloseCode, ProtocolError, SyncStep, type YMessage, YMessageType } from '../protocol.ts';
import type { RejectReason } from './metrics.ts';

/** Bounds of `checkUpdate`. */
export interface UpdateLimits {
  /** Structs (items, GCs, skips) in one update. */
  maxStructs?: number;
  /** Highest clock (and clock + length) an update may name. */
  maxClock?: number;
  /** Nesting depth of `Any` values (arrays and objects in content). */
  maxAnyDepth?: number;
  /** Distinct root type names one update may create. */
  maxRootTypes?: number;
  /** Subdocuments (`ContentDoc`) one update may carry; each becomes a `Y.Doc` on the relay. */
  maxSubdocs?: number;
}

/** Bounds of `checkAwarenessUpdate` and of the rooms' awareness bookkeeping. */
export interface AwarenessLimits {
  /** Bytes of one client's JSON state. */
  maxStateBytes?: number;
  /** Awareness client ids one member (one socket's subscription) may control in a doc. */
  maxClientsPerMember?: number;
}

export const DEFAULT_UPDATE_LIMITS: Readonly<Required<UpdateLimits>> = Object.freeze({
  maxStructs: 2_000_000,
  // 2^40: a client would have to type for millennia; far from 2^53, where clock arithmetic loses precision.
  maxClock: 2 ** 40,
  maxAnyDepth: 64,
  maxRootTypes: 256,
  // Lattice never uses subdocuments; each one is a whole Y.Doc allocated per few bytes of input.
  maxSubdocs: 0,
});

export const DEFAULT_AWARENESS_LIMITS: Readonly<Required<AwarenessLimits>> = Object.freeze({
  maxStateBytes: 16 * 1024,
  maxClientsPerMember: 4,
});

/**
 * Input the relay refuses to apply. A `ProtocolError`, so code that only knows
 * those still closes the connection; `closeCode` and `rejectReason` say how.
 */
export class UpdateRejectedError extends ProtocolError {
  override name = 'UpdateRejectedError';
  readonly closeCode: CloseCode;
  readonly rejectReason: RejectReason;

  constructor(message: string, closeCode: CloseCode, rejectReason: RejectReason) {
    super(message);
    this.closeCode = closeCode;
    this.rejectReason = rejectReason;
  }
}

/** What a checked update contains. */
export interface UpdateSummary {
  clients: number;
  structs: number;
  deleteRanges: number;
}

/**
 * The clock ranges a checked update writes and the other clients' clocks it
 * refers to, for an update a room may append to its log without integrating
 * it (`Room`, "live appends"). Only for an update without skips, or a
 * delete-only update (a backspace). (An item referring to its own client's
 * clock at or after its own is refused outright.)
 */
export interface AppendShape {
  /** Per client section: client, first clock, clock after its last struct (flat triples). */
  sections: number[];
  /** Every reference to another client's struct (origins, parents): client, clock (flat pairs). */
  deps: number[];
  /** Per delete range: client, clock after its end (flat pairs). */
  deletes: number[];
}

/**
 * Shapes of updates `checkUpdate` passed, keyed by the checked bytes: the
 * session checks an update before its room sees it, and the room must not
 * walk it twice. Weak, and emptied as the room takes each shape: V8's minor
 * collections keep every entry of a WeakMap, key and value, so an entry left
 * until its key died was promoted to the old generation with the frame's
 * bytes, ~0.45 KB per edit of garbage only a full collection frees (bench
 * fan-out: the relay's RSS).
 */
const appendShapes = new WeakMap<Uint8Array, AppendShape>();

/**
 * The `AppendShape` of `update` if `checkUpdate` passed these very bytes and
 * it has one; forgets it, so a second call returns `undefined`.
 */
export function takeCheckedAppendShape(update: Uint8Array): AppendShape | undefined {
  const shape = appendShapes.get(update);
  if (shape !== undefined) appendShapes.delete(update);
  return shape;
}

/** One client's entry of an awareness update (`state` is the JSON text; `'null'` removes the client). */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: string;
}

function rejectUpdate(message: string): never {
  throw new UpdateRejectedError(message, CloseCode.UpdateRejected, 'update_rejected');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads a count of items each taking at least `minBytes`, refusing one the bytes left cannot hold. */
function readCount(d: decoding.Decoder, minBytes: number, what: string): number {
  const count = decoding.readVarUint(d);
  if (count * minBytes > d.arr.length - d.pos) {
    rejectUpdate(`${what} count ${count} exceeds the ${d.arr.length - d.pos} bytes left`);
  }
  return count;
}

function readByte(d: decoding.Decoder): number {
  // lib0's readUint8 returns undefined past the end instead of throwing.
  if (d.pos >= d.arr.length) rejectUpdate('unexpected end of update');
  return decoding.readUint8(d);
}

/** Skips a lib0 signed varint without lib0's unchecked reads past the end. */
function skipVarInt(d: decoding.Decoder): void {
  for (let i = 0; i < 10; i++) {
    if (readByte(d) < 0x80) return;
  }
  rejectUpdate('varint too long');
}

function skipBytes(d: decoding.Decoder, n: number): void {
  if (d.pos + n > d.arr.length) rejectUpdate('unexpected end of update');
  d.pos += n;
}

function checkJson(text: string, what: string): void {
  try {
    JSON.parse(text);
  } catch {
    rejectUpdate(`${what} is not JSON`);
  }
}

class UpdateWalker {
  readonly #d: decoding.Decoder;
  readonly #limits: Required<UpdateLimits>;
  readonly #rootNames = new Set<string>();
  #subdocs = 0;
  structs = 0;
  readonly sections: number[] = [];
  readonly deps: number[] = [];
  readonly deletes: number[] = [];
  /** Still a shape a room may append without integrating: no skip. */
  appendable = true;
  /** The client and first clock of the struct being read. */
  #client = 0;
  #at = 0;

  constructor(update: Uint8Array, limits: Required<UpdateLimits>) {
    this.#d = decoding.createDecoder(update);
    this.#limits = limits;
  }

  walk(): UpdateSummary {
    const d = this.#d;
    if (d.arr.length === 0) rejectUpdate('empty update');
    // Each client section takes at least three varints: struct count, client, clock.
    const clients = readCount(d, 3, 'client');
    const seen = new Set<number>();
    for (let c = 0; c < clients; c++) {
      // Each struct takes at least two bytes (info and a length or content).
      const structs = readCount(d, 2, 'struct');
      const client = decoding.readVarUint(d);
      if (seen.has(client)) rejectUpdate(`client ${client} appears twice`);
      seen.add(client);
      let clock = this.#clock(decoding.readVarUint(d));
      const from = clock;
      this.structs += structs;
      if (this.structs > this.#limits.maxStructs) {
        rejectUpdate(`more than ${this.#limits.maxStructs} structs`);
      }
      this.#client = client;
      for (let s = 0; s < structs; s++) {
        this.#at = clock;
        clock = this.#clock(clock + this.#struct());
      }
      if (structs > 0) this.sections.push(client, from, clock);
    }
    let deleteRanges = 0;
    const dsClients = readCount(d, 2, 'delete set client');
    for (let c = 0; c < dsClients; c++) {
      const client = decoding.readVarUint(d);
      const ranges = readCount(d, 2, 'delete range');
      deleteRanges += ranges;
      for (let r = 0; r < ranges; r++) {
        const clock = this.#clock(decoding.readVarUint(d));
        this.deletes.push(client, this.#clock(clock + decoding.readVarUint(d)));
      }
    }
    if (decoding.hasContent(d)) rejectUpdate('trailing bytes after the delete set');
    return { clients, structs: this.structs, deleteRanges };
  }

  #clock(clock: number): number {
    if (clock > this.#limits.maxClock)
      rejectUpdate(`clock ${clock} beyond ${this.#limits.maxClock}`);
    return clock;
  }

  /** Reads one struct; returns its length in clock ticks (always ≥ 1). */
  #struct(): number {
    const d = this.#d;
    const info = readByte(d);
    const kind = info & 0x1f;
    if (kind === 0 || kind === 10) {
      if (kind === 10) this.appendable = false;
      // GC or Skip: just a length.
      return this.#length(decoding.readVarUint(d), kind === 0 ? 'GC' : 'skip');
    }
    const hasOrigin = (info & 0x80) !== 0;
    const hasRightOrigin = (info & 0x40) !== 0;
    if (hasOrigin) this.#id();
    if (hasRightOrigin) this.#id();
    if (!hasOrigin && !hasRightOrigin) {
      const parentInfo = decoding.readVarUint(d);
      if (parentInfo === 1) {
        const name = decoding.readVarString(d);
        if (!this.#rootNames.has(name)) {
          this.#rootNames.add(name);
          if (this.#rootNames.size > this.#limits.maxRootTypes) {
            rejectUpdate(`more than ${this.#limits.maxRootTypes} root types`);
          }
        }
      } else if (parentInfo === 0) {
        this.#id();
      } else {
        rejectUpdate(`bad parent info ${parentInfo}`);
      }
      if ((info & 0x20) !== 0) decoding.readVarString(d);
    }
    return this.#content(kind);
  }

  /**
   * Reads an item's reference to another struct (an origin or its parent).
   * One to its own client must name an earlier clock: what an item refers to
   * existed when it was made, and a client's clocks only grow. Yjs does not
   * check this; it looks the struct up and throws when it is not there,
   * which receivers would meet too (a room forwards a client's update before
   * integrating it, and a device stores what it cannot open). A fuzzed frame
   * found it (regression: fuzz.socket.test.ts, seed 1102126416).
   */
  #id(): void {
    const client = decoding.readVarUint(this.#d);
    const clock = this.#clock(decoding.readVarUint(this.#d));
    if (client !== this.#client) this.deps.push(client, clock);
    else if (clock >= this.#at) {
      rejectUpdate(`item (${client}, ${this.#at}) refers to its own client's clock ${clock}`);
    }
  }

  #length(length: number, what: string): number {
    // Zero-length structs never come from Yjs and break its clock arithmetic.
    if (length === 0) rejectUpdate(`empty ${what}`);
    return length;
  }

  #content(kind: number): number {
    const d = this.#d;
    switch (kind) {
      case 1: // Deleted
        return this.#length(decoding.readVarUint(d), 'deleted content');
      case 2: {
        // JSON: strings, each JSON text or 'undefined'
        const count = this.#length(readCount(d, 1, 'JSON value'), 'JSON content');
        for (let i = 0; i < count; i++) {
          const text = decoding.readVarString(d);
          if (text !== 'undefined') checkJson(text, 'JSON content');
        }
        return count;
      }
      case 3: // Binary
        decoding.readVarUint8Array(d);
        return 1;
      case 4: // String; its length counts UTF-16 code units, as Yjs clocks do
        return this.#length(decoding.readVarString(d).length, 'string');
      case 5: // Embed
        checkJson(decoding.readVarString(d), 'embed');
        return 1;
      case 6: // Format
        decoding.readVarString(d);
        checkJson(decoding.readVarString(d), 'format value');
        return 1;
      case 7: {
        // Type: YArray, YMap, YText, YXmlElement (name), YXmlFragment, YXmlHook (name), YXmlText
        const typeRef = decoding.readVarUint(d);
        if (typeRef > 6) rejectUpdate(`unknown type ref ${typeRef}`);
        if (typeRef === 3 || typeRef === 5) decoding.readVarString(d);
        return 1;
      }
      case 8: {
        // Any
        const count = this.#length(readCount(d, 1, 'any value'), 'any content');
        for (let i = 0; i < count; i++) this.#any(0);
        return count;
      }
      case 9: {
        // Doc: guid and options (an object: Yjs spreads it into `new Doc`)
        this.#subdocs++;
        if (this.#subdocs > this.#limits.maxSubdocs) {
          rejectUpdate(`more than ${this.#limits.maxSubdocs} subdocuments`);
        }
        decoding.readVarString(d);
        if (d.pos >= d.arr.length || d.arr[d.pos] !== 118) {
          rejectUpdate('subdocument options are not an object');
        }
        this.#any(0);
        return 1;
      }
      default:
        return rejectUpdate(`unknown content kind ${kind}`);
    }
  }

  /** Skips one lib0 `Any` value (recursion bounded by `maxAnyDepth`). */
  #any(depth: number): void {
    if (depth > this.#limits.maxAnyDepth) {
      rejectUpdate(`value nested deeper than ${this.#limits.maxAnyDepth}`);
    }
    const d = this.#d;
    const type = readByte(d);
    switch (type) {
      case 127: // undefined
      case 126: // null
      case 121: // false
      case 120: // true
        return;
      case 125: // integer
        skipVarInt(d);
        return;
      case 124: // float32
        skipBytes(d, 4);
        return;
      case 123: // float64
      case 122: // bigint64
        skipBytes(d, 8);
        return;
      case 119: // string
        decoding.readVarString(d);
        return;
      case 118: {
        // object: key and value per entry, at least two bytes
        const count = readCount(d, 2, 'object entry');
        for (let i = 0; i < count; i++) {
          decoding.readVarString(d);
          this.#any(depth + 1);
        }
        return;
      }
      case 117: {
        const count = readCount(d, 1, 'array element');
        for (let i = 0; i < count; i++) this.#any(depth + 1);
        return;
      }
      case 116: // Uint8Array
        decoding.readVarUint8Array(d);
        return;
      default:
        rejectUpdate(`unknown value type ${type}`);
    }
  }
}

/**
 * Checks that `update` is a well-formed Yjs v1 update within `limits`, in time
 * and memory proportional to its length. Throws `UpdateRejectedError`
 * (`CloseCode.UpdateRejected`) otherwise — including for an empty update and
 * truncated varints.
 */
export function checkUpdate(update: Uint8Array, limits?: UpdateLimits): UpdateSummary {
  const walker = new UpdateWalker(
    update,
    limits === undefined ? DEFAULT_UPDATE_LIMITS : { ...DEFAULT_UPDATE_LIMITS, ...limits },
  );
  try {
    const summary = walker.walk();
    if (walker.appendable && (walker.sections.length > 0 || walker.deletes.length > 0)) {
      appendShapes.set(update, {
        sections: walker.sections,
        deps: walker.deps,
        deletes: walker.deletes,
      });
    }
    return summary;
  } catch (err) {
    if (err instanceof UpdateRejectedError) throw err;
    // lib0 errors: unexpected end of array, integer out of range, bad view.
    return rejectUpdate(`malformed update: ${errorMessage(err)}`);
  }
}

/**
 * Parses a y-protocols awareness update, refusing malformed ones
 * (`CloseCode.MalformedFrame`) and states over `maxStateBytes`
 * (`CloseCode.RateLimited`). Per-member ownership is the room's business.
 */
export function checkAwarenessUpdate(
  update: Uint8Array,
  limits: AwarenessLimits = {},
): AwarenessEntry[] {
  const { maxStateBytes } = { ...DEFAULT_AWARENESS_LIMITS, ...limits };
  const malformed = (message: string): never => {
    throw new UpdateRejectedError(message, CloseCode.MalformedFrame, 'malformed');
  };
  const d = decoding.createDecoder(update);
  const entries: AwarenessEntry[] = [];
  try {
    const count = decoding.readVarUint(d);
    // clientId, clock and a state length: three bytes at least.
    if (count * 3 > update.length - d.pos) malformed(`awareness count ${count} exceeds the input`);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(d);
      const clock = decoding.readVarUint(d);
      const bytes = decoding.readVarUint8Array(d);
      if (bytes.length > maxStateBytes) {
        throw new UpdateRejectedError(
          `awareness state of ${bytes.length} bytes exceeds ${maxStateBytes}`,
          CloseCode.RateLimited,
          'awareness_rejected',
        );
      }
      const state = new TextDecoder().decode(bytes);
      try {
        JSON.parse(state);
      } catch {
        malformed(`awareness state of client ${clientId} is not JSON`);
      }
      entries.push({ clientId, clock, state });
    }
  } catch (err) {
    if (err instanceof UpdateRejectedError) throw err;
    return malformed(`malformed awareness update: ${errorMessage(err)}`);
  }
  if (decoding.hasContent(d)) malformed('trailing bytes after the awareness update');
  return entries;
}

/** Encodes awareness entries as a y-protocols awareness update (the inverse of `checkAwarenessUpdate`). */
export function encodeAwarenessEntries(entries: readonly AwarenessEntry[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(e, clientId);
    encoding.writeVarUint(e, clock);
    encoding.writeVarString(e, state);
  }
  return encoding.toUint8Array(e);
}

/**
 * Checks the payload of a decoded y-websocket message before the relay acts on
 * it: sync step 2 and updates with `checkUpdate`, awareness with
 * `checkAwarenessUpdate`. Throws `UpdateRejectedError`.
 */
export function checkYMessage(
  message: YMessage,
  limits: { update?: UpdateLimits; awareness?: AwarenessLimits } = {},
): void {
  if (message.type === YMessageType.Sync && message.step !== SyncStep.Step1) {
    checkUpdate(message.payload, limits.update);
  } else if (message.type === YMessageType.Awareness) {
    checkAwarenessUpdate(message.update, limits.awareness);
  }
}
