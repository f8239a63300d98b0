import type { StorageAdapter, StoredDoc } from '../ports.ts';
import { checkBytes, checkCursor, checkDocName, checkMetaKey, checkUpdates } from './checkArgs.ts';

interface Entry {
  seq: number;
  update: Uint8Array;
}

/**
 * `StorageAdapter` kept in memory: for tests and the network simulation. Two
 * `Replica`s over one instance behave like two tabs over one IndexedDB database.
 */
export class MemoryStorage implements StorageAdapter {
  #docs = new Map<string, Entry[]>();
  #meta = new Map<string, Uint8Array>();
  #summaries = new Map<string, Uint8Array>();
  #nextSeq = 1;
  #closed = false;

  async load(docName: string): Promise<StoredDoc> {
    this.#check();
    checkDocName(docName);
    const entries = this.#docs.get(docName) ?? [];
    return {
      updates: entries.map((e) => e.update.slice()),
      cursor: entries.at(-1)?.seq ?? 0,
    };
  }

  async append(
    docName: string,
    updates: readonly Uint8Array[],
    summary?: Uint8Array,
  ): Promise<void> {
    this.#check();
    checkDocName(docName);
    checkUpdates(updates);
    if (summary !== undefined) checkBytes(summary, 'summary');
    if (updates.length === 0) return;
    if (summary === undefined) this.#summaries.delete(docName);
    else this.#summaries.set(docName, summary.slice());
    let entries = this.#docs.get(docName);
    if (!entries) {
      entries = [];
      this.#docs.set(docName, entries);
    }
    // Copies, so a caller reusing its buffer cannot change what was stored.
    for (const update of updates) entries.push({ seq: this.#nextSeq++, update: update.slice() });
  }

  async compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    this.#check();
    checkDocName(docName);
    checkBytes(snapshot, 'snapshot');
    checkCursor(cursor);
    const kept = (this.#docs.get(docName) ?? []).filter((e) => e.seq > cursor);
    // The snapshot takes the place of what it replaces, ahead of later appends.
    this.#docs.set(docName, [{ seq: cursor, update: snapshot.slice() }, ...kept]);
  }

  async list(prefix: string): Promise<string[]> {
    this.#check();
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    return [...this.#docs.keys()].filter((name) => name.startsWith(prefix)).sort();
  }

  async delete(docName: string): Promise<void> {
    this.#check();
    checkDocName(docName);
    this.#docs.delete(docName);
    this.#summaries.delete(docName);
  }

  async putSummary(docName: string, summary: Uint8Array, cursor: number): Promise<boolean> {
    this.#check();
    checkDocName(docName);
    checkBytes(summary, 'summary');
    checkCursor(cursor);
    if ((this.#docs.get(docName)?.at(-1)?.seq ?? 0) !== cursor) return false;
    this.#summaries.set(docName, summary.slice());
    return true;
  }

  async loadSummaries(): Promise<Map<string, Uint8Array>> {
    this.#check();
    return new Map([...this.#summaries].map(([name, bytes]) => [name, bytes.slice()]));
  }

  async metaKeys(prefix: string): Promise<string[]> {
    this.#check();
    if (typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    return [...this.#meta.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    checkMetaKey(key);
    return this.#meta.get(key)?.slice();
  }

  async setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    this.#check();
    checkMetaKey(key);
    if (value === undefined) {
      this.#meta.delete(key);
    } else {
      checkBytes(value, 'meta value');
      this.#meta.set(key, value.slice());
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed) throw new Error('MemoryStorage is closed');
  }
}
