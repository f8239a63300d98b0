import type { DocChangeListener, DocHandle, DocSource } from '@lattice/replication';

/** Methods of `DocSource` whose calls are counted. */
export type CountedMethod = 'open' | 'track' | 'untrack' | 'forget' | 'readStored';

/**
 * Wraps a `DocSource` and counts calls per method and doc name, so tests can
 * assert what was (not) loaded.
 */
export class CountingDocSource implements DocSource {
  readonly inner: DocSource;
  #calls = new Map<CountedMethod, string[]>();

  constructor(inner: DocSource) {
    this.inner = inner;
  }

  /** How often `method` was called (for `docName`, or for any doc). */
  count(method: CountedMethod, docName?: string): number {
    const calls = this.#calls.get(method) ?? [];
    return docName === undefined ? calls.length : calls.filter((name) => name === docName).length;
  }

  /** Doc names passed to `method`, in call order. */
  calls(method: CountedMethod): string[] {
    return [...(this.#calls.get(method) ?? [])];
  }

  /** Forgets every count. */
  reset(): void {
    this.#calls.clear();
  }

  open(docName: string): Promise<DocHandle> {
    this.#count('open', docName);
    return this.inner.open(docName);
  }

  track(docName: string): void {
    this.#count('track', docName);
    this.inner.track(docName);
  }

  untrack(docName: string): void {
    this.#count('untrack', docName);
    this.inner.untrack(docName);
  }

  forget(docName: string): Promise<void> {
    this.#count('forget', docName);
    return this.inner.forget(docName);
  }

  readStored(docName: string): Promise<Uint8Array> {
    this.#count('readStored', docName);
    return this.inner.readStored(docName);
  }

  onDocChanged(listener: DocChangeListener): () => void {
    return this.inner.onDocChanged(listener);
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.inner.getMeta(key);
  }

  setMeta(key: string, value: Uint8Array | undefined): Promise<void> {
    return this.inner.setMeta(key, value);
  }

  #count(method: CountedMethod, docName: string): void {
    let calls = this.#calls.get(method);
    if (calls === undefined) {
      calls = [];
      this.#calls.set(method, calls);
    }
    calls.push(docName);
  }
}
