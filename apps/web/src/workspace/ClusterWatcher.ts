import { type ClusterView, clusterRelayList, parseClusterView } from './cluster.ts';

/** What the watcher needs of a `Replica`. */
export interface RelayListTarget {
  setRelays(relays: string[]): void;
}

export interface ClusterWatcherOptions {
  replica: RelayListTarget;
  /** The multiplexed URL of the relay that served the app (`ws(s)://host/sync`). */
  servedUrl: string;
  /** Where to ask, e.g. `${location.origin}/api/cluster`. */
  apiUrl: string;
  /** Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Re-asked this often while online (default 60 s). */
  intervalMs?: number;
  /** Default: `navigator.onLine` when there is a navigator, else true. */
  isOnline?: () => boolean;
}

/**
 * Learns the relay cluster from the relay that served the app: asks
 * `/api/cluster` at start and every `intervalMs` while online, hands the
 * replica the relay list (served relay first) whenever it changed, and keeps
 * the latest answer for the Replication panel. A failed ask keeps the last
 * list: failover must not depend on the relay that just died answering.
 */
export class ClusterWatcher {
  #o: Required<Omit<ClusterWatcherOptions, 'fetch'>> & { fetch: typeof globalThis.fetch };
  #view: ClusterView | null = null;
  #error: string | null = null;
  #fetchedAt: number | null = null;
  #lastList = '';
  #timer: ReturnType<typeof setInterval> | null = null;
  #listeners = new Set<() => void>();
  #stopped = false;

  constructor(options: ClusterWatcherOptions) {
    const intervalMs = options.intervalMs ?? 60_000;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
      throw new RangeError(`intervalMs must be a positive number, got ${intervalMs}`);
    }
    const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchFn !== 'function') throw new TypeError('ClusterWatcher needs fetch');
    this.#o = {
      replica: options.replica,
      servedUrl: options.servedUrl,
      apiUrl: options.apiUrl,
      fetch: fetchFn,
      intervalMs,
      isOnline:
        options.isOnline ??
        (() => (typeof navigator === 'undefined' ? true : navigator.onLine !== false)),
    };
    this.#lastList = JSON.stringify([options.servedUrl]);
  }

  /** The latest answer (null before the first one arrived). */
  get view(): ClusterView | null {
    return this.#view;
  }

  /** Why the latest ask failed (null after a success). */
  get error(): string | null {
    return this.#error;
  }

  /** When the latest good answer arrived (ms epoch). */
  get fetchedAt(): number | null {
    return this.#fetchedAt;
  }

  /** Asks now, then every `intervalMs` while online. */
  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    void this.refresh();
    this.#timer = setInterval(() => {
      if (this.#o.isOnline()) void this.refresh();
    }, this.#o.intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
  }

  /** Called after every ask (success or failure). */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks once; never rejects (the outcome is in `view` / `error`). */
  async refresh(): Promise<void> {
    try {
      const response = await this.#o.fetch(this.#o.apiUrl, {
        headers: { accept: 'application/json' },
        cache: 'no-store',
      });
      if (!response.ok) throw new Error(`/api/cluster answered HTTP ${response.status}`);
      const view = parseClusterView(await response.json());
      if (this.#stopped) return;
      this.#view = view;
      this.#error = null;
      this.#fetchedAt = Date.now();
      const list = clusterRelayList(this.#o.servedUrl, view);
      const key = JSON.stringify(list);
      if (key !== this.#lastList) {
        this.#o.replica.setRelays(list);
        this.#lastList = key;
      }
    } catch (error) {
      if (this.#stopped) return;
      this.#error = error instanceof Error ? error.message : String(error);
    }
    for (const listener of this.#listeners) listener();
  }
}
