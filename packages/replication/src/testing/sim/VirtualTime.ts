import type { SimClock } from './Simulation.ts';

interface Timer {
  id: number;
  at: number;
  /** Creation order: timers due at the same instant fire in the order they were set. */
  seq: number;
  fn: () => void;
  interval: number | null;
  cancelled: boolean;
}

/** What `setTimeout` returns while virtual time is installed (enough of Node's `Timeout`). */
interface VirtualHandle {
  readonly id: number;
  ref(): VirtualHandle;
  unref(): VirtualHandle;
  hasRef(): boolean;
  [Symbol.toPrimitive](): number;
}

type Saved = Pick<
  typeof globalThis,
  'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'
> & { dateNow: () => number; performanceNow: () => number };

/**
 * Virtual time for the simulation: replaces the global timers, `Date.now`
 * and `performance.now` with a clock that only moves in `advance`. Timers
 * fire in (due time, creation) order, each in its own macrotask so the
 * promise jobs it starts run before the next one, as in a real event loop.
 *
 * Like vitest's fake timers, but with a heap instead of a scan per timer:
 * the simulation fires about a thousand timers per seed.
 */
export class VirtualTime implements SimClock {
  #now: number;
  #heap: Timer[] = [];
  #byId = new Map<number, Timer>();
  #nextId = 1;
  #seq = 0;
  #saved: Saved | null = null;
  /** Real `setImmediate`, captured before anything is replaced. */
  #yield: () => Promise<void>;

  constructor(start = 0) {
    this.#now = start;
    const immediate = globalThis.setImmediate;
    this.#yield = () => new Promise((resolve) => immediate(resolve));
  }

  now(): number {
    return this.#now;
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#byId.size;
  }

  /** Replaces the globals; `uninstall` puts them back. */
  install(): this {
    if (this.#saved !== null) throw new Error('virtual time already installed');
    const g = globalThis as unknown as Record<string, unknown>;
    this.#saved = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
      dateNow: Date.now,
      performanceNow: performance.now.bind(performance),
    };
    g.setTimeout = (fn: unknown, ms?: number, ...args: unknown[]) => this.#add(fn, ms, args, false);
    g.setInterval = (fn: unknown, ms?: number, ...args: unknown[]) => this.#add(fn, ms, args, true);
    g.clearTimeout = (handle: unknown) => this.#clear(handle);
    g.clearInterval = (handle: unknown) => this.#clear(handle);
    Date.now = () => this.#now;
    performance.now = () => this.#now;
    return this;
  }

  /** Restores the real globals and drops every pending timer. */
  uninstall(): void {
    const saved = this.#saved;
    if (saved === null) return;
    this.#saved = null;
    Object.assign(globalThis, {
      setTimeout: saved.setTimeout,
      clearTimeout: saved.clearTimeout,
      setInterval: saved.setInterval,
      clearInterval: saved.clearInterval,
    });
    Date.now = saved.dateNow;
    performance.now = saved.performanceNow;
    this.#heap = [];
    this.#byId.clear();
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`);
    const end = this.#now + ms;
    // Jobs queued before this call run before the first timer, as they would.
    await this.#yield();
    for (;;) {
      const timer = this.#heap[0];
      if (timer === undefined || timer.at > end) break;
      this.#pop();
      if (timer.cancelled) continue;
      this.#now = Math.max(this.#now, timer.at);
      if (timer.interval === null) {
        this.#byId.delete(timer.id);
      } else {
        timer.at += timer.interval;
        timer.seq = this.#seq++;
        this.#push(timer);
      }
      timer.fn();
      await this.#yield();
    }
    this.#now = end;
  }

  #add(fn: unknown, ms: number | undefined, args: unknown[], repeat: boolean): VirtualHandle {
    if (typeof fn !== 'function') throw new TypeError('timer callback must be a function');
    // As in Node: a missing, negative or non-numeric delay means 1 ms.
    const delay = typeof ms === 'number' && ms >= 1 ? ms : 1;
    const timer: Timer = {
      id: this.#nextId++,
      at: this.#now + delay,
      seq: this.#seq++,
      fn: () => fn(...args),
      interval: repeat ? delay : null,
      cancelled: false,
    };
    this.#byId.set(timer.id, timer);
    this.#push(timer);
    const handle: VirtualHandle = {
      id: timer.id,
      ref: () => handle,
      unref: () => handle,
      hasRef: () => true,
      [Symbol.toPrimitive]: () => timer.id,
    };
    return handle;
  }

  #clear(handle: unknown): void {
    const id =
      typeof handle === 'number' ? handle : (handle as { id?: unknown } | null | undefined)?.id;
    if (typeof id !== 'number') return;
    const timer = this.#byId.get(id);
    if (timer === undefined) return;
    // Left in the heap and skipped when it comes up: cheaper than removing it.
    timer.cancelled = true;
    this.#byId.delete(id);
  }

  // ---- binary heap ordered by (at, seq) ----

  #before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < heap.length && this.#before(heap[l]!, heap[min]!)) min = l;
      if (r < heap.length && this.#before(heap[r]!, heap[min]!)) min = r;
      if (min === i) return;
      [heap[i], heap[min]] = [heap[min]!, heap[i]!];
      i = min;
    }
  }
}
