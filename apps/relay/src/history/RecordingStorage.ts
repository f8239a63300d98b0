import type { StorageAdapter, StoredDoc } from '@lattice/replication';
import type { HistoryRecorder } from './HistoryRecorder.ts';

/**
 * The relay core's storage with the version history listening in: every
 * append is shown to the recorder before it is stored (purge detection)
 * and after (scheduling). Everything else passes straight through.
 */
export class RecordingStorage implements StorageAdapter {
  readonly #inner: StorageAdapter;
  readonly #recorder: HistoryRecorder;

  constructor(inner: StorageAdapter, recorder: HistoryRecorder) {
    this.#inner = inner;
    this.#recorder = recorder;
  }

  load(docName: string): Promise<StoredDoc> {
    return this.#inner.load(docName);
  }

  async append(docName: string, updates: readonly Uint8Array[]): Promise<void> {
    await this.#recorder.beforeAppend(docName, updates);
    await this.#inner.append(docName, updates);
    this.#recorder.changed(docName);
  }

  compact(docName: string, snapshot: Uint8Array, cursor: number): Promise<void> {
    return this.#inner.compact(docName, snapshot, cursor);
  }

  list(prefix: string): Promise<string[]> {
    return this.#inner.list(prefix);
  }

  delete(docName: string): Promise<void> {
    return this.#inner.delete(docName);
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#inner.getMeta(key);
  }

  setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    return this.#inner.setMeta(key, value);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
