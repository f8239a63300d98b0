import { type BackoffOptions, backoffDelay } from './backoff.ts';
import { accessProblemOf, type FrontLink, type LinkEvents, type LinkState } from './frontLink.ts';
import type { Transport, TransportCloseEvent, TransportFactory } from './ports.ts';
import {
  CloseCode,
  type DocMessage,
  decodeYMessage,
  ProtocolError,
  SyncStep,
  YMessageType,
} from './protocol.ts';

export interface YWebsocketLinkOptions extends LinkEvents {
  /**
   * Server base URLs (`ws://host:1234`); doc sockets go to `${url}/${docName}`
   * (a query string, e.g. `?token=…`, stays at the end). Failures rotate through them.
   */
  urls: readonly string[];
  transportFactory: TransportFactory;
  /** A doc socket silent this long gets a sync step 1 (the y-websocket heartbeat). */
  heartbeatIntervalMs: number;
  /** A doc socket silent this long is replaced. */
  heartbeatTimeoutMs: number;
  backoff: BackoffOptions;
  random: () => number;
  /** Sockets kept open at once for docs that are not open in the UI. */
  maxBackgroundSockets: number;
  /** A background doc whose socket was parked waits this long before its next turn (default 30 s). */
  revisitMs?: number;
}

/** One doc's own socket to the server. */
interface DocSocket {
  readonly docName: string;
  transport: Transport | null;
  state: 'waiting' | 'connecting' | 'open';
  /** Messages for the server, held until the socket is open. */
  outbox: DocMessage[];
  lastHeard: number;
  /** Sync step 1s sent and not yet answered, oldest first (the server answers each with a step 2, in order). */
  probes: { seq: number; vector: Uint8Array; sentAt: number }[];
  /** Highest number of an update-bearing message sent on this socket. */
  lastSent: number;
  /** Highest number confirmed delivered on this socket. */
  lastAcked: number;
  /** When a probe was asked of the Replica and not sent yet (0: none). */
  probeAskedAt: number;
  /** Parked: subscribed, but without a socket until its next turn. */
  parked: boolean;
  /** Not to be opened before this time (parked turn, retry delay). */
  notBefore: number;
  openedAt: number;
}

const DEFAULT_REVISIT_MS = 30_000;

/**
 * The front end's link to a plain y-websocket server (DESIGN.md "Wire
 * compatibility"): one WebSocket per synced doc, standard messages only. A
 * plain server sends no acks, so delivery is inferred: the server answers
 * every sync step 1 with a step 2, in order, so once the answer to a step 1
 * sent after a change arrives, the change was delivered (not necessarily
 * stored). That step 1 doubles as the heartbeat. Docs open in the UI keep
 * their sockets; other docs take turns on `maxBackgroundSockets` sockets.
 */
export class YWebsocketLink implements FrontLink {
  #o: YWebsocketLinkOptions;
  #revisitMs: number;
  #state: LinkState = 'offline';
  #epoch = 0;
  #attempt = 0;
  #urlIndex = 0;
  #stopped = true;
  /** The server refused our token (4401/4403/4419): no retries until `setUrls` brings a new list. */
  #denied = false;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval> | null = null;
  #sockets = new Map<string, DocSocket>();
  /** Docs open in the UI. */
  #live = new Set<string>();
  /** Per doc: failed reopen attempts in a row (for its retry delay). */
  #docAttempts = new Map<string, number>();
  #lastDocName: string | null = null;
  #pilot: Transport | null = null;
  #rttMs: number | null = null;
  #pumpQueued = false;

  constructor(options: YWebsocketLinkOptions) {
    if (options.urls.length === 0) throw new Error('YWebsocketLink needs at least one server URL');
    const { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout } = options;
    if (!(interval > 0 && timeout > interval)) {
      throw new RangeError(
        `need 0 < heartbeatIntervalMs < heartbeatTimeoutMs, got ${interval} and ${timeout}`,
      );
    }
    if (!(Number.isInteger(options.maxBackgroundSockets) && options.maxBackgroundSockets >= 1)) {
      throw new RangeError(
        `maxBackgroundSockets must be an integer ≥ 1, got ${options.maxBackgroundSockets}`,
      );
    }
    this.#o = options;
    this.#revisitMs = options.revisitMs ?? DEFAULT_REVISIT_MS;
  }

  get state(): LinkState {
    return this.#state;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get endpoint(): { url: string; protocol: 'y-websocket' } {
    const url = this.#o.urls[this.#urlIndex % this.#o.urls.length] as string;
    return { url, protocol: 'y-websocket' };
  }

  get relayId(): null {
    return null;
  }

  get heartbeatRttMs(): number | null {
    return this.#rttMs;
  }

  /** Replaces the server list; like `RelayLink.setUrls`, the current server stays if still listed. */
  setUrls(urls: readonly string[]): void {
    if (urls.length === 0) throw new RangeError('YWebsocketLink needs at least one server URL');
    const current = this.endpoint.url;
    const changed =
      urls.length !== this.#o.urls.length || urls.some((u, i) => u !== this.#o.urls[i]);
    this.#o = { ...this.#o, urls: [...urls] };
    if (this.#denied) {
      // The same list means the same token: asking again would only be refused again.
      if (!changed) return;
      this.#denied = false;
    } else {
      const at = urls.indexOf(current);
      if (at >= 0) {
        this.#urlIndex = at;
        return;
      }
    }
    // `#fail` moves on to the next URL: index 0.
    this.#urlIndex = urls.length - 1;
    if (this.#stopped) return;
    this.#attempt = 0;
    this.#fail();
  }

  /** Doc sockets open or connecting right now (for tests and diagnostics). */
  get openSockets(): number {
    let n = 0;
    for (const s of this.#sockets.values()) if (s.transport !== null) n++;
    return n;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick = setInterval(() => this.#check(), Math.max(10, this.#o.heartbeatIntervalMs / 2));
    // There is no handshake: docs are tried as they subscribe, and the first refused socket takes the link offline.
    this.#ready();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#retryTimer = null;
    this.#tick = null;
    this.#closeAll();
    this.#setState('offline');
  }

  reconnect(): void {
    if (this.#stopped || this.#denied) return;
    if (this.#state === 'offline') {
      this.#attempt = 0;
      this.#connect();
    } else if (this.#state === 'ready') {
      // The network may have changed under open sockets: probe them now.
      for (const s of this.#sockets.values()) if (s.state === 'open') this.#askProbe(s, false);
    }
  }

  enqueue(message: DocMessage): void {
    if (this.#state !== 'ready') return;
    this.#lastDocName = message.docName;
    let socket = this.#sockets.get(message.docName);
    if (socket === undefined) {
      socket = this.#newSocket(message.docName);
      this.#sockets.set(message.docName, socket);
    }
    if (socket.state === 'open') this.#send(socket, message);
    else {
      socket.outbox.push(message);
      // Something to say: a parked doc needs its socket back, turn or not.
      if (socket.parked) {
        socket.parked = false;
        socket.notBefore = 0;
      }
      this.#queuePump();
    }
  }

  leave(docName: string): void {
    const socket = this.#sockets.get(docName);
    if (socket === undefined) return;
    this.#sockets.delete(docName);
    this.#closeSocket(socket, CloseCode.Normal, 'doc no longer synced');
    this.#queuePump();
  }

  hold(): () => void {
    // Each doc has its own socket: there are no frames to batch across docs.
    return () => {};
  }

  setLive(docName: string, live: boolean): void {
    if (live === this.#live.has(docName)) return;
    if (live) this.#live.add(docName);
    else this.#live.delete(docName);
    this.#lastDocName = docName;
    const socket = this.#sockets.get(docName);
    if (live && socket?.parked) {
      socket.parked = false;
      socket.notBefore = 0;
    }
    this.#queuePump();
  }

  // ---- link state ----

  #ready(): void {
    this.#epoch++;
    this.#attempt = 0;
    this.#setState('ready');
    this.#o.onReady(this.#epoch);
  }

  /** After a failure: try one socket (a pilot) before telling the Replica the server is back. */
  #connect(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const docName = [...this.#live][0] ?? this.#lastDocName;
    if (docName === null) {
      this.#ready();
      return;
    }
    this.#setState('connecting');
    const epoch = this.#epoch;
    let pilot: Transport;
    try {
      pilot = this.#o.transportFactory(this.#docUrl(docName));
    } catch (err) {
      this.#o.onError(new Error(`cannot create a socket: ${(err as Error).message}`));
      this.#fail();
      return;
    }
    this.#pilot = pilot;
    const deadline = setTimeout(() => {
      if (this.#pilot !== pilot) return;
      this.#pilot = null;
      detach(pilot);
      pilot.close(CloseCode.HandshakeTimeout, 'connect timeout');
      this.#fail();
    }, this.#o.heartbeatTimeoutMs);
    pilot.onOpen = () => {
      if (this.#pilot !== pilot || epoch !== this.#epoch) return;
      clearTimeout(deadline);
      this.#pilot = null;
      detach(pilot);
      pilot.close(CloseCode.Normal, 'reachability probe');
      this.#ready();
    };
    pilot.onClose = (event: TransportCloseEvent) => {
      if (this.#pilot !== pilot) return;
      clearTimeout(deadline);
      this.#pilot = null;
      if (!this.#deny(event)) this.#fail();
    };
    pilot.connect();
  }

  /** A close for lack of access stops the whole link: every doc socket carries the same token. */
  #deny(event: TransportCloseEvent): boolean {
    const problem = accessProblemOf(event.code);
    if (problem === null) return false;
    this.#denied = true;
    this.#closeAll();
    this.#epoch++;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#setState('offline');
    this.#o.onDenied(problem, event.reason);
    return true;
  }

  /** The server could not be reached: everything in flight is unconfirmed; retry after a backoff. */
  #fail(): void {
    this.#closeAll();
    this.#epoch++;
    this.#setState('offline');
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt, this.#o.backoff, this.#o.random);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    this.#urlIndex = (this.#urlIndex + 1) % this.#o.urls.length;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  #closeAll(): void {
    for (const socket of this.#sockets.values()) {
      this.#closeSocket(socket, CloseCode.Normal, 'link closed');
    }
    this.#sockets.clear();
    this.#docAttempts.clear();
    const pilot = this.#pilot;
    this.#pilot = null;
    if (pilot) {
      detach(pilot);
      pilot.close(CloseCode.Normal, 'link closed');
    }
  }

  #setState(state: LinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#o.onState(state);
  }

  // ---- doc sockets ----

  #newSocket(docName: string): DocSocket {
    const attempts = this.#docAttempts.get(docName) ?? 0;
    return {
      docName,
      transport: null,
      state: 'waiting',
      outbox: [],
      lastHeard: 0,
      probes: [],
      lastSent: 0,
      lastAcked: 0,
      probeAskedAt: 0,
      parked: false,
      notBefore:
        attempts === 0
          ? 0
          : performance.now() + backoffDelay(attempts - 1, this.#o.backoff, this.#o.random),
      openedAt: 0,
    };
  }

  #docUrl(docName: string): string {
    const url = this.endpoint.url;
    const q = url.indexOf('?');
    const base = (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
    const query = q < 0 ? '' : url.slice(q);
    // Like y-websocket's provider: the name is the path; only characters a URL cannot carry are escaped.
    return `${base}/${docName.split('/').map(encodeURIComponent).join('/')}${query}`;
  }

  #open(socket: DocSocket): void {
    const epoch = this.#epoch;
    let transport: Transport;
    try {
      transport = this.#o.transportFactory(this.#docUrl(socket.docName));
    } catch (err) {
      this.#o.onError(new Error(`cannot create a socket: ${(err as Error).message}`));
      this.#fail();
      return;
    }
    socket.transport = transport;
    socket.state = 'connecting';
    socket.lastHeard = performance.now();
    const wasParked = socket.openedAt > 0;
    transport.onOpen = () => {
      if (epoch !== this.#epoch || socket.transport !== transport) return;
      socket.state = 'open';
      socket.openedAt = performance.now();
      socket.lastHeard = socket.openedAt;
      this.#docAttempts.delete(socket.docName);
      const outbox = socket.outbox;
      socket.outbox = [];
      for (const message of outbox) this.#send(socket, message);
      // A returning parked doc has nothing queued: ask the Replica for its state vector.
      if (wasParked || outbox.length === 0) this.#askProbe(socket, true);
    };
    transport.onMessage = (frame) => {
      if (epoch === this.#epoch && socket.transport === transport) this.#receive(socket, frame);
    };
    transport.onClose = (event: TransportCloseEvent) => {
      if (epoch !== this.#epoch || socket.transport !== transport) return;
      const everOpen = socket.state === 'open';
      socket.transport = null;
      if (this.#deny(event)) return;
      if (!everOpen) {
        // Refused: the server (not just this doc) is unreachable.
        this.#fail();
        return;
      }
      this.#lost(socket);
    };
    transport.connect();
  }

  #send(socket: DocSocket, message: DocMessage): void {
    const transport = socket.transport;
    if (transport === null) return;
    const seq = message.seq ?? 0;
    let kind: 'step1' | 'update' | 'other' = 'other';
    let vector: Uint8Array | null = null;
    try {
      const y = decodeYMessage(message.message);
      if (y.type === YMessageType.Sync) {
        if (y.step === SyncStep.Step1) {
          kind = 'step1';
          vector = y.payload;
        } else kind = 'update';
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
    }
    transport.send(message.message);
    if (kind === 'step1' && vector !== null) {
      socket.probeAskedAt = 0;
      socket.probes.push({ seq, vector, sentAt: performance.now() });
    } else if (kind === 'update' && seq > socket.lastSent) {
      socket.lastSent = seq;
      // Delivery is known only after a step 1 sent after this: ask for one.
      if (socket.probes.length === 0) this.#askProbe(socket, false);
    }
  }

  #receive(socket: DocSocket, frame: Uint8Array): void {
    const now = performance.now();
    socket.lastHeard = now;
    let message: ReturnType<typeof decodeYMessage>;
    try {
      message = decodeYMessage(frame);
    } catch (err) {
      this.#o.onError(
        new Error(`malformed message for ${socket.docName}: ${(err as Error).message}`),
      );
      this.#drop(socket, CloseCode.MalformedFrame, 'malformed message');
      return;
    }
    if (message.type === YMessageType.Sync && message.step === SyncStep.Step2) {
      const probe = socket.probes.shift();
      if (probe !== undefined) {
        this.#rttMs = now - probe.sentAt;
        if (probe.seq > socket.lastAcked) socket.lastAcked = probe.seq;
        if (probe.seq > 0) this.#o.onAck(socket.docName, probe.seq, probe.vector);
        this.#o.onInfo();
        if (socket.lastSent > socket.lastAcked && socket.probes.length === 0) {
          this.#askProbe(socket, false);
        }
      }
    }
    this.#o.onDocs([{ docName: socket.docName, message: frame }]);
    if (this.#settled(socket)) this.#queuePump();
  }

  #askProbe(socket: DocSocket, newSocket: boolean): void {
    const now = performance.now();
    // One question at a time, unless it went unanswered for a heartbeat period.
    if (socket.probeAskedAt > 0 && now - socket.probeAskedAt < this.#o.heartbeatIntervalMs) {
      if (!newSocket) return;
    }
    socket.probeAskedAt = now;
    this.#o.onProbe(socket.docName, newSocket);
  }

  /** Closes a doc socket ourselves (silent, malformed) and tells the Replica it is gone. */
  #drop(socket: DocSocket, code: number, reason: string): void {
    const transport = socket.transport;
    socket.transport = null;
    if (transport) {
      detach(transport);
      transport.close(code, reason);
    }
    this.#lost(socket);
  }

  /** An open doc socket ended: the Replica subscribes the doc again, after a delay that grows with repeats. */
  #lost(socket: DocSocket): void {
    if (this.#sockets.get(socket.docName) === socket) this.#sockets.delete(socket.docName);
    this.#docAttempts.set(socket.docName, (this.#docAttempts.get(socket.docName) ?? 0) + 1);
    this.#o.onDocLost(socket.docName);
    this.#queuePump();
  }

  #closeSocket(socket: DocSocket, code: number, reason: string): void {
    const transport = socket.transport;
    socket.transport = null;
    socket.state = 'waiting';
    if (transport) {
      detach(transport);
      transport.close(code, reason);
    }
  }

  /** Background socket with nothing left to do: initial exchange done, everything delivered. */
  #settled(socket: DocSocket): boolean {
    return (
      socket.state === 'open' &&
      socket.probes.length === 0 &&
      socket.probeAskedAt === 0 &&
      socket.outbox.length === 0 &&
      socket.lastAcked >= socket.lastSent
    );
  }

  // ---- scheduling ----

  #queuePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Opens sockets for docs that wait: docs open in the UI at once, others as background slots free up. */
  #pump(): void {
    if (this.#state !== 'ready') return;
    const now = performance.now();
    let background = 0;
    const waiting: DocSocket[] = [];
    for (const socket of this.#sockets.values()) {
      const live = this.#live.has(socket.docName);
      if (socket.transport !== null) {
        if (!live) background++;
        continue;
      }
      // A parked doc before its next turn, or a doc waiting out a retry delay.
      if (socket.notBefore > now) continue;
      if (live) {
        socket.parked = false;
        this.#open(socket);
      } else {
        waiting.push(socket);
      }
    }
    if (waiting.length === 0) return;
    // Docs that never had a turn (or have something to send) before returning parked ones.
    waiting.sort((a, b) => Number(a.parked) - Number(b.parked));
    let free = this.#o.maxBackgroundSockets - background;
    if (free < waiting.length) free += this.#parkSettled(waiting.length - free);
    for (const socket of waiting.slice(0, Math.max(0, free))) {
      socket.parked = false;
      this.#open(socket);
    }
  }

  /** Parks up to `wanted` settled background sockets so that waiting docs get a turn. */
  #parkSettled(wanted: number): number {
    let parked = 0;
    for (const socket of this.#sockets.values()) {
      if (parked >= wanted) break;
      if (this.#live.has(socket.docName) || !this.#settled(socket)) continue;
      this.#closeSocket(socket, CloseCode.Normal, 'taking turns');
      socket.parked = true;
      socket.probes = [];
      socket.notBefore = performance.now() + this.#revisitMs;
      parked++;
    }
    return parked;
  }

  /** Periodic: heartbeats (a step 1 on a quiet socket), replacing silent sockets, retries due. */
  #check(): void {
    if (this.#state !== 'ready') return;
    const now = performance.now();
    for (const socket of [...this.#sockets.values()]) {
      if (socket.state !== 'open' || socket.transport === null) continue;
      const silentFor = now - socket.lastHeard;
      if (silentFor >= this.#o.heartbeatTimeoutMs) {
        this.#o.onError(
          new Error(
            `server silent for ${Math.round(silentFor)} ms on ${socket.docName}; replacing socket`,
          ),
        );
        this.#drop(socket, CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      } else if (silentFor >= this.#o.heartbeatIntervalMs && socket.probes.length === 0) {
        this.#askProbe(socket, false);
      }
    }
    this.#pump();
  }
}

function detach(transport: Transport): void {
  transport.onOpen = null;
  transport.onMessage = null;
  transport.onClose = null;
}
