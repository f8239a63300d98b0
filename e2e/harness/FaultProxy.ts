import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * What the proxy does with traffic:
 * - `pass`: forwards both ways;
 * - `refuse`: resets every current connection and every new one (like a port nobody listens on);
 * - `blackhole`: accepts, keeps every socket open and forwards nothing, either way, not even a
 *   close (a half-open link: no close, no error, just silence). What was sent meanwhile is
 *   delivered once the mode forwards again, as TCP retransmission would after a short partition;
 * - `cut`: resets every current connection once, then forwards new ones as `pass` does;
 * - `{ delay }`: forwards each direction `delay` ms late, order preserved.
 */
export type FaultMode = 'pass' | 'refuse' | 'blackhole' | 'cut' | { delay: number };

/** Where the proxy forwards to; read at every new connection, so a relay may restart on another port. */
export type ProxyTarget = number | { readonly port: number };

/** What connections ask of the proxy's current mode. */
interface Policy {
  forwarding(): boolean;
  delayMs(): number;
}

/** Bytes the proxy delivered, per direction: `up` toward the target, `down` back to the dialler. */
export interface ProxyBytes {
  up: number;
  down: number;
}

type Signal = { kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset' };
type Held = Signal & { at: number };

/** Closes at once, with an RST where the socket allows one (a crash, not a goodbye). */
function hardClose(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** One direction of one connection: a queue released in order, when and as late as the mode says. */
class Pipe {
  #policy: Policy;
  #queue: Held[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastAt = 0;
  #to: Socket | null = null;
  #counted: (bytes: number) => void;

  /** `counted` hears every chunk as it is delivered (not when it arrives: a blackhole holds it). */
  constructor(policy: Policy, counted: (bytes: number) => void) {
    this.#policy = policy;
    this.#counted = counted;
  }

  /** The socket this direction writes into; until then (upstream still connecting) data waits. */
  attach(to: Socket): void {
    this.#to = to;
    this.pump();
  }

  push(signal: Signal): void {
    // Release times never go backwards, so a shrinking delay cannot reorder.
    const at = Math.max(this.#lastAt, Date.now() + this.#policy.delayMs());
    this.#lastAt = at;
    this.#queue.push({ ...signal, at });
    this.pump();
  }

  pump(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const to = this.#to;
    if (!to || !this.#policy.forwarding()) return;
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Held;
      if (head.at > now) {
        this.#timer = setTimeout(() => this.pump(), head.at - now);
        return;
      }
      this.#queue.shift();
      if (to.destroyed) continue;
      if (head.kind === 'data') {
        to.write(head.chunk);
        this.#counted(head.chunk.length);
      } else if (head.kind === 'end') to.end();
      else hardClose(to);
    }
  }

  /** After a mode change: nothing waits longer than the new delay would make it. */
  retime(): void {
    const at = Date.now() + this.#policy.delayMs();
    for (const item of this.#queue) item.at = Math.min(item.at, at);
    this.#lastAt = Math.min(this.#lastAt, at);
    this.pump();
  }

  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
  }
}

/** A client socket, its upstream socket (once dialled) and the two pipes between them. */
class Connection {
  readonly client: Socket;
  upstream: Socket | null = null;
  #up: Pipe;
  #down: Pipe;
  #onDone: () => void;
  #done = false;

  constructor(client: Socket, policy: Policy, bytes: ProxyBytes, onDone: () => void) {
    this.client = client;
    this.#onDone = onDone;
    this.#up = new Pipe(policy, (n) => {
      bytes.up += n;
    });
    this.#down = new Pipe(policy, (n) => {
      bytes.down += n;
    });
    this.#wire(client, this.#up);
    this.#down.attach(client);
  }

  /** Opens the upstream socket; data from the client waits in its pipe meanwhile. */
  dial(port: number): void {
    if (this.#done || this.upstream) return;
    if (this.client.destroyed) {
      // Gone while the link was blackholed: nothing worth delivering.
      this.reset();
      return;
    }
    const upstream = tcpConnect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    this.#wire(upstream, this.#down);
    upstream.once('connect', () => this.#up.attach(upstream));
  }

  /** Releases what may go now (`retime`: the mode got faster). */
  pump(retime: boolean): void {
    for (const pipe of [this.#up, this.#down]) {
      if (retime) pipe.retime();
      else pipe.pump();
    }
  }

  /** Resets both sides at once and forgets what was in flight. */
  reset(): void {
    for (const socket of [this.client, this.upstream]) if (socket) hardClose(socket);
    this.#finish();
  }

  // What one socket says goes into the pipe toward the other, closes included, so a close
  // waits behind data still in flight and a blackhole swallows it like any packet.
  #wire(socket: Socket, toward: Pipe): void {
    let ended = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => toward.push({ kind: 'data', chunk }));
    socket.on('end', () => {
      ended = true;
      toward.push({ kind: 'end' });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!ended) toward.push({ kind: 'reset' });
      const upstreamGone = this.upstream === null || this.upstream.destroyed;
      if (this.client.destroyed && upstreamGone) this.#finish();
    });
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#up.dispose();
    this.#down.dispose();
    this.#onDone();
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a relay, with switchable faults for
 * partition tests (see `FaultMode`). Load the web app from `proxy.url`: HTTP
 * and WebSocket both pass through it, and the page's origin stays the same
 * while the relay behind it restarts (on any port: see `ProxyTarget`).
 */
export class FaultProxy {
  #server: Server;
  #target: ProxyTarget;
  #mode: FaultMode = 'pass';
  #connections = new Set<Connection>();
  #port = 0;
  #policy: Policy;
  #bytes: ProxyBytes = { up: 0, down: 0 };
  #accepted = 0;

  private constructor(target: ProxyTarget) {
    this.#target = target;
    this.#policy = {
      forwarding: () => this.#mode !== 'blackhole' && this.#mode !== 'refuse',
      delayMs: () => (typeof this.#mode === 'object' ? this.#mode.delay : 0),
    };
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      this.#accept(socket),
    );
  }

  static async start(target: ProxyTarget): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP port');
    proxy.#port = address.port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }
  /** The web app's origin through the proxy. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }
  get syncUrl(): string {
    return `ws://127.0.0.1:${this.#port}/sync`;
  }
  /** The current mode (`cut` reads as `pass` once done). */
  get mode(): FaultMode {
    return this.#mode;
  }
  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }
  /** Connections accepted since start (refused ones included). */
  get accepted(): number {
    return this.#accepted;
  }
  /** Bytes delivered since start or the last `resetBytes` (a copy). */
  get bytes(): ProxyBytes {
    return { ...this.#bytes };
  }
  /** Starts counting bytes from zero, e.g. at the moment a partition heals. */
  resetBytes(): void {
    this.#bytes.up = 0;
    this.#bytes.down = 0;
  }

  /** Forwards to another target from the next dialled connection on. */
  retarget(target: ProxyTarget): void {
    this.#target = target;
  }

  set(mode: FaultMode): void {
    if (typeof mode === 'object' && !(Number.isFinite(mode.delay) && mode.delay >= 0)) {
      throw new RangeError(`delay must be a finite number of ms ≥ 0, got ${mode.delay}`);
    }
    if (typeof mode === 'string' && !['pass', 'refuse', 'blackhole', 'cut'].includes(mode)) {
      throw new RangeError(`unknown fault mode ${JSON.stringify(mode)}`);
    }
    const before = this.#policy.delayMs();
    const wasHeld = !this.#policy.forwarding();
    this.#mode = mode === 'cut' ? 'pass' : mode;
    if (mode === 'refuse' || mode === 'cut') {
      for (const c of [...this.#connections]) c.reset();
      return;
    }
    if (mode === 'blackhole') return;
    // Traffic flows again: connections accepted during a blackhole dial out now,
    // and what waited (data, then any close held back) is delivered in order.
    const faster = wasHeld || this.#policy.delayMs() < before;
    for (const c of [...this.#connections]) {
      if (!c.upstream) c.dial(this.#targetPort());
      c.pump(faster);
    }
  }

  pass(): void {
    this.set('pass');
  }
  refuse(): void {
    this.set('refuse');
  }
  blackhole(): void {
    this.set('blackhole');
  }
  cut(): void {
    this.set('cut');
  }
  delay(ms: number): void {
    this.set({ delay: ms });
  }

  async close(): Promise<void> {
    for (const c of [...this.#connections]) c.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #targetPort(): number {
    return typeof this.#target === 'number' ? this.#target : this.#target.port;
  }

  #accept(socket: Socket): void {
    this.#accepted += 1;
    if (this.#mode === 'refuse') {
      socket.on('error', () => undefined);
      hardClose(socket);
      return;
    }
    const c = new Connection(socket, this.#policy, this.#bytes, () => this.#connections.delete(c));
    this.#connections.add(c);
    // Accepted but not dialled while blackholed: a relay that is down must not
    // turn the silence into a visible failure.
    if (this.#policy.forwarding()) c.dial(this.#targetPort());
  }
}
