import * as Y from 'yjs';

type StateMap = Map<number, number>;

function covers(have: StateMap, need: StateMap): boolean {
  for (const [client, clock] of need) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

function stateMap(doc: Y.Doc): StateMap {
  return Y.decodeStateVector(Y.encodeStateVector(doc));
}

/**
 * Plausible but naive ways to decide whether a doc may be shown as current,
 * each missing one piece of `SessionGuarantees`; tests show the guarantee
 * each one breaks. Travels between "devices" as a plain object.
 */
export class NaiveSessionTracker {
  #read: StateMap = new Map();
  #written: StateMap = new Map();
  #latest: [client: number, clock: number] | null = null;

  /** Records the session's writes (local transactions) to `doc`; returns the stop function. */
  observe(doc: Y.Doc): () => void {
    const onTransaction = (tr: Y.Transaction) => {
      if (!tr.local) return;
      for (const [client, after] of tr.afterState) {
        if (after <= (tr.beforeState.get(client) ?? 0)) continue;
        this.#written.set(client, Math.max(this.#written.get(client) ?? 0, after));
        this.#latest = [client, after];
      }
    };
    doc.on('afterTransaction', onTransaction);
    return () => doc.off('afterTransaction', onTransaction);
  }

  /** The session was shown `doc`. */
  read(doc: Y.Doc): void {
    for (const [client, clock] of stateMap(doc)) {
      this.#read.set(client, Math.max(this.#read.get(client) ?? 0, clock));
    }
  }

  /** Shows whatever arrived (a relay snapshot, another tab's state) at once. */
  presentOnArrival(_doc: Y.Doc): boolean {
    return true;
  }

  /** Checks state vectors of reads and writes, but deletions do not advance a state vector. */
  stateVectorsOnly(doc: Y.Doc): boolean {
    const sv = stateMap(doc);
    return covers(sv, this.#read) && covers(sv, this.#written);
  }

  /** Checks that the session's own writes are there (read-your-writes alone). */
  ownWritesOnly(doc: Y.Doc): boolean {
    return covers(stateMap(doc), this.#written);
  }

  /** Checks that the session's latest write is there, as one `Y.Doc` knows its own clock. */
  latestWriteOnly(doc: Y.Doc): boolean {
    if (this.#latest === null) return true;
    const [client, clock] = this.#latest;
    return (stateMap(doc).get(client) ?? 0) >= clock;
  }
}
