import { type AckEntry, encodeAck, encodeAcks, splitAcks } from '../protocol.ts';

/**
 * Per doc: which numbered messages arrived and which are durable. Acks name
 * the highest number up to which every message is both, so a duplicate or a
 * message that overtook another never acks a gap.
 */
interface DocAcks {
  /** Every message numbered up to this arrived and is durable. */
  acked: number;
  /** Every message numbered up to this arrived (≥ `acked`). */
  arrivedThrough: number;
  /**
   * Arrived, numbered above `arrivedThrough + 1`: held above a gap. Only these
   * count toward the out-of-order bound — messages that arrived in order and
   * merely wait for their durable commit do not (a burst of 10,000 in-order
   * updates arriving within one commit must not look like a misbehaving sender).
   */
  seen: Set<number>;
  /** Durable, numbered above `acked`. */
  durable: Set<number>;
  /** The highest number that arrived. */
  maxSeen: number;
  /** The latest state vector reported durable. */
  stateVector: Uint8Array;
  /** The last `acked` value sent in an `Ack`. */
  sentAck: number;
  /**
   * Arrival times (`performance.now()`) of numbered messages not yet covered
   * by a sent `Ack`, only with a latency observer: index `i` holds message
   * `latencyBase + i`. An array trimmed from the front, not a Map: a Map or
   * Set that a message fills and its ack empties again reallocates its table
   * every few messages, and those tables outlive minor collections (bench
   * fan-out: the relay's RSS).
   */
  arrivedAt: number[];
  latencyBase: number;
}

/** What `received` made of a message. */
export type Received = 'fresh' | 'duplicate' | 'overflow';

/** Numbered messages of one doc held above a gap; beyond this the sender is misbehaving. */
const MAX_OUT_OF_ORDER = 10_000;
/**
 * Arrival times are kept for messages at most this far above the last ack:
 * a sender may number its messages as sparsely as it likes, and a sparse
 * array is slow to trim. Beyond it a message's latency goes unobserved.
 */
const MAX_LATENCY_SPAN = 4 * MAX_OUT_OF_ORDER;

/**
 * The receiving side of numbered doc messages on one connection: records
 * what arrived and what became durable, and sends one `Ack` per doc per
 * microtask (together in `Acks` frames when the peer reads those) naming
 * the highest number up to which every message is both (docs/ARCHITECTURE.md,
 * "Fault model"). Numbers are per connection and doc,
 * so nothing here is ever reset.
 */
export class InboundAcks {
  readonly #send: (frame: Uint8Array) => void;
  readonly #maxOutOfOrder: number;
  readonly #ackLatency: ((seconds: number) => void) | undefined;
  readonly #batched: () => boolean;
  readonly #docs = new Map<string, DocAcks>();
  /** Docs whose `acked` advanced since the last `Ack` was sent. */
  readonly #ackDue = new Set<string>();
  #ackFlushQueued = false;

  /**
   * `ackLatency`, when given, is told for every acked message the seconds
   * from its arrival (`received`) to the `Ack` that covers it being sent.
   * `batched`, when it answers true (the peer's `Hello` listed
   * `HELLO_FEATURE_ACKS`), puts the acks of one microtask in `Acks` frames.
   */
  constructor(
    send: (frame: Uint8Array) => void,
    maxOutOfOrder = MAX_OUT_OF_ORDER,
    ackLatency?: (seconds: number) => void,
    batched: () => boolean = () => false,
  ) {
    this.#send = send;
    this.#maxOutOfOrder = maxOutOfOrder;
    this.#ackLatency = ackLatency;
    this.#batched = batched;
  }

  /**
   * Records message `seq` of `docName` as arrived. `'duplicate'`: a copy of a
   * message already handled (applying it again would change nothing);
   * `'overflow'`: too many messages held above a gap. Unnumbered messages
   * (`seq` 0) are always `'fresh'` and never acked. `at`: when the message
   * arrived on the socket (`performance.now()`; default now), for ack latency.
   */
  received(docName: string, seq: number, at = performance.now()): Received {
    const st = this.#doc(docName);
    if (seq > 0) {
      if (seq <= st.arrivedThrough || st.seen.has(seq)) return 'duplicate';
      if (seq === st.arrivedThrough + 1) {
        // In order (the usual case): O(1), and it may close a gap below held messages.
        st.arrivedThrough = seq;
        while (st.seen.size > 0 && st.seen.delete(st.arrivedThrough + 1)) st.arrivedThrough++;
      } else {
        if (st.seen.size >= this.#maxOutOfOrder) return 'overflow';
        st.seen.add(seq);
      }
      const slot = seq - st.latencyBase;
      if (this.#ackLatency !== undefined && slot >= 0 && slot < MAX_LATENCY_SPAN) {
        st.arrivedAt[slot] = at;
      }
      if (seq > st.maxSeen) st.maxSeen = seq;
    }
    return 'fresh';
  }

  /**
   * Messages `seqs` of `docName` are durable; advances the contiguous ack.
   * Without `stateVector`, the one last reported durable still holds (the
   * messages changed nothing stored).
   */
  durable(docName: string, seqs: readonly number[], stateVector?: Uint8Array): void {
    const st = this.#doc(docName);
    if (stateVector !== undefined) st.stateVector = stateVector;
    // Only a message that both arrived and is durable counts, and only without
    // a gap below it. The usual case, the next message of an in-order stream,
    // advances at once; the rest wait in `durable` for what is below them.
    for (const seq of seqs) {
      if (seq <= st.acked) continue;
      if (seq === st.acked + 1 && seq <= st.arrivedThrough && st.durable.size === 0) st.acked = seq;
      else st.durable.add(seq);
    }
    while (st.acked < st.arrivedThrough && st.durable.size > 0 && st.durable.delete(st.acked + 1)) {
      st.acked++;
    }
    if (st.acked > st.sentAck) {
      this.#ackDue.add(docName);
      this.#queueAckFlush();
    }
  }

  /** The highest number of `docName` that arrived (0: none); a Leave below it is stale. */
  maxSeen(docName: string): number {
    return this.#doc(docName).maxSeen;
  }

  #doc(docName: string): DocAcks {
    let st = this.#docs.get(docName);
    if (st === undefined) {
      st = {
        acked: 0,
        arrivedThrough: 0,
        seen: new Set(),
        durable: new Set(),
        maxSeen: 0,
        stateVector: new Uint8Array([0]),
        sentAck: 0,
        arrivedAt: [],
        latencyBase: 1,
      };
      this.#docs.set(docName, st);
    }
    return st;
  }

  /** Reports the latency of every message the `Ack` just sent covers (numbered above `from`). */
  #observeLatency(st: DocAcks, from: number): void {
    const now = performance.now();
    const times = st.arrivedAt;
    for (let seq = Math.max(from + 1, st.latencyBase); seq <= st.acked; seq++) {
      // Shifted off the front: V8 trims the array in place, nothing is allocated.
      const at = times.shift();
      if (at !== undefined) this.#ackLatency?.((now - at) / 1000);
    }
    st.latencyBase = st.acked + 1;
  }

  /** One `Ack` per doc for everything that became durable in this microtask. */
  #queueAckFlush(): void {
    if (this.#ackFlushQueued) return;
    this.#ackFlushQueued = true;
    queueMicrotask(() => {
      this.#ackFlushQueued = false;
      const batched = this.#ackDue.size > 1 && this.#batched();
      const batch: AckEntry[] = [];
      for (const docName of this.#ackDue) {
        const st = this.#doc(docName);
        const from = st.sentAck;
        st.sentAck = st.acked;
        if (batched) batch.push({ docName, seq: st.acked, stateVector: st.stateVector });
        else this.#send(encodeAck(docName, st.acked, st.stateVector));
        if (this.#ackLatency !== undefined) this.#observeLatency(st, from);
      }
      for (const part of splitAcks(batch)) this.#send(encodeAcks(part));
      this.#ackDue.clear();
    });
  }
}
