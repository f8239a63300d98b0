/**
 * Runs in Chromium (bundled by esbuild, served by `baselineServer.ts`): the
 * comparisons of the cold-load benchmark, on the same notes.
 *
 * - `storeOne`/`loadOne`: the notes in ONE `Y.Doc` (`notes` map → Y.Text)
 *   persisted with y-indexeddb, loaded in a fresh page until `whenSynced`.
 * - `bareApply`: `Y.applyUpdate` of that doc's whole state (bytes already here).
 * - `rawTransfer`: the limit for a fresh device — fetch every doc's state
 *   (index doc + one per note, exactly what a relay sends) in one response
 *   and apply each into its own `Y.Doc`.
 */
import { IndexeddbPersistence, storeState } from 'y-indexeddb';
import * as Y from 'yjs';

async function bytes(path: string): Promise<Uint8Array> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function unframe(all: Uint8Array): Uint8Array[] {
  const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < all.length; ) {
    const length = view.getUint32(at, true);
    out.push(all.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

const api = {
  /** Writes the one-doc state into y-indexeddb database `one-<n>` (setup, not timed). */
  async storeOne(n: number): Promise<number> {
    const state = await bytes(`/state/one-${n}.bin`);
    const doc = new Y.Doc();
    const persistence = new IndexeddbPersistence(`one-${n}`, doc);
    await persistence.whenSynced;
    Y.applyUpdate(doc, state);
    // Compacts to one stored update (y-indexeddb's own trim path).
    await storeState(persistence, true);
    const notes = doc.getMap('notes').size;
    await persistence.destroy();
    doc.destroy();
    return notes;
  },
  /** ms from `new IndexeddbPersistence` to `whenSynced`, and the notes it then holds. */
  async loadOne(n: number): Promise<{ ms: number; notes: number }> {
    const started = performance.now();
    const doc = new Y.Doc();
    const persistence = new IndexeddbPersistence(`one-${n}`, doc);
    await persistence.whenSynced;
    const ms = performance.now() - started;
    const notes = doc.getMap('notes').size;
    await persistence.destroy();
    doc.destroy();
    return { ms, notes };
  },
  /** ms of one `Y.applyUpdate` of the whole one-doc state (fetched first, untimed). */
  async bareApply(n: number): Promise<{ ms: number; notes: number }> {
    const state = await bytes(`/state/one-${n}.bin`);
    const doc = new Y.Doc();
    const started = performance.now();
    Y.applyUpdate(doc, state);
    const ms = performance.now() - started;
    const notes = doc.getMap('notes').size;
    doc.destroy();
    return { ms, notes };
  },
  /** Fetch every doc's state in one response, then apply each into its own doc. */
  async rawTransfer(
    n: number,
  ): Promise<{ transferMs: number; applyMs: number; bytes: number; docs: number }> {
    const started = performance.now();
    const all = await bytes(`/state/docs-${n}.bin`);
    const fetched = performance.now();
    const docs = unframe(all);
    for (const update of docs) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, update);
      doc.destroy();
    }
    const applied = performance.now();
    return {
      transferMs: fetched - started,
      applyMs: applied - fetched,
      bytes: all.length,
      docs: docs.length,
    };
  },
};

(window as unknown as { coldLoadBaseline: typeof api }).coldLoadBaseline = api;
