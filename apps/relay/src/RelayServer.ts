import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type Access,
  CloseCode,
  type ConnectionHandler,
  docNameProblem,
  type RelayConnection,
  RelayCore,
  type RelayLog,
  SYNC_PATH,
  WebSocketTransport,
  YWS_PATH_PREFIX,
} from '@lattice/replication';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { AuthRegistry } from './auth/AuthRegistry.ts';
import { handleAuthApi, isAuthApiPath } from './auth/authApi.ts';
import { authenticate, tokenOf } from './auth/authenticate.ts';
import { ClusterAuth } from './auth/ClusterAuth.ts';
import { TokenService } from './auth/TokenService.ts';
import { type HistoryOptions, HistoryRecorder } from './history/HistoryRecorder.ts';
import { handleHistoryApi, isHistoryApiPath } from './history/historyApi.ts';
import { RecordingStorage } from './history/RecordingStorage.ts';
import { LevelStorage } from './LevelStorage.ts';
import { type LimitOptions, type RelayLimits, resolveLimits } from './limits.ts';
import { sanitizeUrl } from './logger.ts';
import { createRelayMetrics, type PrometheusRelayMetrics } from './metrics.ts';
import { RateLimiter } from './RateLimiter.ts';
import { requestIdOf } from './requestId.ts';
import { type SocketSample, showedLife } from './socketLiveness.ts';
import { sendText, serveStatic } from './staticFiles.ts';

/** Options of `startRelay`. */
export interface RelayOptions extends LimitOptions {
  /** Data directory (LevelDB); created if missing. */
  dataDir: string;
  /** Directory of the built web app (`apps/web/dist`). */
  webDir: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 picks a free one (default 8080). */
  port?: number;
  /**
   * Peer relays' base URLs (`ws://host:port`): the relay keeps a peer link to
   * `<url>/sync` of each (gossip), re-dialing with jittered backoff.
   */
  peers?: readonly string[];
  /** This relay's public base URL, announced to peers and in `/api/cluster` (default `http://HOST:PORT` as bound). */
  publicUrl?: string;
  /** Anti-entropy with each peer this often, besides on every (re)connect (default 30 s; 0: only on connect). */
  antiEntropyIntervalMs?: number;
  /** The store's window for syncing writes of many docs together (`LevelStorageOptions.syncWindowMs`, default 2 ms). */
  syncWindowMs?: number;
  /** Structured event sink; silent when omitted. */
  log?: RelayLog;
  /**
   * Liveness sweep period (default 1 s): a socket nothing was read from since
   * the previous sweep gets a WebSocket-level ping, which browsers answer
   * outside page JavaScript (see `livenessTimeoutMs`).
   */
  pingIntervalMs?: number;
  /**
   * A socket that sent nothing, not even a pong, for this long (and whose
   * outbound backlog did not drain meanwhile) is terminated, freeing its
   * awareness states at once (default 4 s; at least 2 × `pingIntervalMs`).
   */
  livenessTimeoutMs?: number;
  /** Lattice heartbeat probes to multiplexed sockets (default 5 s; see `RelayCoreOptions`). */
  heartbeatIntervalMs?: number;
  /** A multiplexed socket silent this long is closed with `HeartbeatTimeout` (default 15 s). */
  heartbeatTimeoutMs?: number;
  /** Passed to `RelayCore`. */
  commitWindowMs?: number;
  idleUnloadMs?: number;
  compactAfterUpdates?: number;
  handshakeTimeoutMs?: number;
  /**
   * Access control (default `'on'`): tokens on every WebSocket and the
   * `/api/workspaces` API. `'off'` lets anyone read and write every workspace
   * (local development only).
   */
  auth?: 'on' | 'off';
  /**
   * Shared by every relay of a cluster (at least 32 bytes): peer links
   * authenticate with it, both ways. Required for `peers` when auth is on.
   */
  clusterSecret?: Uint8Array;
  /** Sign new tokens with a fresh key from now on (old keys keep verifying). */
  rotateKey?: boolean;
  /** Key ids to retire: tokens signed with them are refused (4401). */
  retireKeys?: readonly string[];
  /** Version history: snapshot schedule and retention (docs/ARCHITECTURE.md, "Version history"). */
  history?: HistoryOptions;
}

/** A started relay. */
export interface RunningRelay {
  /** `http://host:port` with the bound port. */
  url: string;
  port: number;
  host: string;
  core: RelayCore;
  /** Closes sockets (GoingAway), flushes storage, stops listening. Idempotent. */
  close(): Promise<void>;
}

const RELAY_ID_KEY = 'relay-id';
/** Longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Fragments of one WebSocket message; browsers never fragment what they send. */
const MAX_FRAGMENTS = 1024;
/** Longest close reason a WebSocket close frame can carry, in bytes. */
const MAX_CLOSE_REASON_BYTES = 123;
/** How long shutdown waits for clients to finish the closing handshake. */
const CLOSE_GRACE_MS = 1000;
/**
 * A frame this large is written at once instead of at the end of the turn: it
 * gains nothing from sharing a write, and the turn may go on for long (a
 * partition heal's diff is forwarded before the room integrates it, ~130 ms
 * for 10,000 edits, which a corked write would wait for).
 */
const WRITE_NOW_BYTES = 64 * 1024;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return reason;
  // Cut on a character boundary: drop a trailing partial UTF-8 sequence.
  return bytes
    .subarray(0, MAX_CLOSE_REASON_BYTES)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

/** Answers an upgrade request with a plain HTTP error and drops the socket. */
function refuseUpgrade(socket: Duplex, status: number, body: string, reqId?: string): void {
  const text = `${body}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      (reqId === undefined ? '' : `X-Request-Id: ${reqId}\r\n`) +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/** One socket's state for the liveness sweep (`RelayServer.#sweep`): its last sample and more. */
interface Liveness extends SocketSample {
  readonly socket: Socket;
  /** Ends the socket's session (idempotent): leaves its rooms, drops its awareness. */
  readonly leave: () => void;
  /** Sweeps in a row that saw no sign of life. */
  silentSweeps: number;
}

/** `ws`'s client, typed as the DOM WebSocket that `WebSocketTransport` expects (it uses only that API). */
const NodeWebSocket = WebSocket as unknown as typeof globalThis.WebSocket;

/** A peer's multiplexed endpoint from its base URL (`ws://host:port` → `ws://host:port/sync`). */
export function peerSyncUrl(base: string): string {
  const url = new URL(base);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new RangeError(`peer URL must be ws:// or wss://, got ${base}`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(SYNC_PATH) ? path : `${path}${SYNC_PATH}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The multiplexed endpoint of a relay known by its public base URL (`http://h:p` → `ws://h:p/sync`). */
function syncUrlOfPublic(base: string): string | null {
  try {
    const url = new URL(base);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    else if (url.protocol === 'https:') url.protocol = 'wss:';
    return peerSyncUrl(url.toString());
  } catch {
    return null;
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The Node relay process: HTTP (web app, `/healthz`) and WebSocket upgrades
 * (`/sync`, `/ws/<docName>`) on one port, rooms in a `RelayCore`, storage in
 * LevelDB.
 */
export class RelayServer implements RunningRelay {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly core: RelayCore;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #storage: LevelStorage;
  readonly #history: HistoryRecorder;
  readonly #webDir: string;
  readonly #log: RelayLog;
  readonly #metrics: PrometheusRelayMetrics;
  readonly #startedAt = Date.now();
  /** What the liveness sweep knows about each socket (`#sweep`). */
  readonly #liveness = new WeakMap<WebSocket, Liveness>();
  readonly #pingIntervalMs: number;
  /** Sweeps in a row without a sign of life after which a socket is terminated. */
  readonly #deadAfterSweeps: number;
  /** Request id of each socket's upgrade (logs). */
  readonly #socketIds = new WeakMap<WebSocket, string>();
  readonly #pingTimer: ReturnType<typeof setInterval>;
  /** Access control; all three `null` with auth off (`cluster`: no cluster secret). */
  readonly #tokens: TokenService | null;
  readonly #registry: AuthRegistry | null;
  readonly #cluster: ClusterAuth | null;
  #closing: Promise<void> | null = null;
  readonly #limits: RelayLimits;
  /** Sockets that reached the upgrade handler and have not closed, in total and per address. */
  #connections = 0;
  readonly #connectionsPerIp = new Map<string, number>();

  private constructor(parts: {
    server: Server;
    wss: WebSocketServer;
    storage: LevelStorage;
    history: HistoryRecorder;
    core: RelayCore;
    webDir: string;
    log: RelayLog;
    metrics: PrometheusRelayMetrics;
    host: string;
    port: number;
    pingIntervalMs: number;
    livenessTimeoutMs: number;
    tokens: TokenService | null;
    registry: AuthRegistry | null;
    cluster: ClusterAuth | null;
    limits: RelayLimits;
  }) {
    this.#limits = parts.limits;
    this.#tokens = parts.tokens;
    this.#registry = parts.registry;
    this.#cluster = parts.cluster;
    this.#server = parts.server;
    this.#wss = parts.wss;
    this.#storage = parts.storage;
    this.#history = parts.history;
    this.core = parts.core;
    this.#webDir = parts.webDir;
    this.#log = parts.log;
    this.#metrics = parts.metrics;
    this.host = parts.host;
    this.port = parts.port;
    this.url = `http://${formatHost(parts.host)}:${parts.port}`;
    this.#pingIntervalMs = parts.pingIntervalMs;
    this.#deadAfterSweeps = Math.ceil(parts.livenessTimeoutMs / parts.pingIntervalMs);
    this.#pingTimer = setInterval(() => this.#sweep(), parts.pingIntervalMs);
    this.#server.on('request', (req, res) => this.#onRequest(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  /** Opens storage, starts listening and resolves once the port is bound. */
  static async start(options: RelayOptions): Promise<RelayServer> {
    const log = options.log ?? (() => {});
    const host = options.host ?? '127.0.0.1';
    const pingIntervalMs = options.pingIntervalMs ?? 1_000;
    if (!(Number.isFinite(pingIntervalMs) && pingIntervalMs > 0)) {
      throw new RangeError(
        `pingIntervalMs must be a positive number, got ${options.pingIntervalMs}`,
      );
    }
    const livenessTimeoutMs = options.livenessTimeoutMs ?? Math.max(4_000, 2 * pingIntervalMs);
    if (!(Number.isFinite(livenessTimeoutMs) && livenessTimeoutMs >= 2 * pingIntervalMs)) {
      throw new RangeError(
        `livenessTimeoutMs must be at least twice pingIntervalMs (${pingIntervalMs}), got ${options.livenessTimeoutMs}`,
      );
    }
    const port = options.port ?? 8080;
    const limits = resolveLimits(options);
    try {
      await mkdir(options.dataDir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create data dir ${options.dataDir}: ${(err as Error).message}`);
    }
    let core: RelayCore | undefined;
    // Gauges read the core at scrape time; before it exists they read 0.
    const metrics = createRelayMetrics(() => core?.stats());
    const storage = await LevelStorage.open(options.dataDir, {
      onWrite: (seconds) => metrics.storageWrite(seconds),
      ...(options.syncWindowMs === undefined ? {} : { syncWindowMs: options.syncWindowMs }),
    });
    let server: Server | undefined;
    let registry: AuthRegistry | null = null;
    let cluster: ClusterAuth | null = null;
    let history: HistoryRecorder | undefined;
    try {
      history = new HistoryRecorder(storage, options.history, log);
      const auth = options.auth ?? 'on';
      if (auth !== 'on' && auth !== 'off') throw new RangeError(`auth must be 'on' or 'off'`);
      if (
        auth === 'on' &&
        (options.peers ?? []).length > 0 &&
        options.clusterSecret === undefined
      ) {
        throw new RangeError('peers need a cluster secret when auth is on');
      }
      const relayId = await RelayServer.#relayId(storage);
      if (options.clusterSecret !== undefined) {
        cluster = await ClusterAuth.create(relayId, options.clusterSecret);
      }
      const peerAuth = cluster;
      const httpServer = createServer({
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        // Node checks both timeouts on this period (default 30 s, too coarse for short limits).
        connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4)),
      });
      server = httpServer;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const bound = (httpServer.address() as AddressInfo).port;
      const publicUrl = options.publicUrl ?? `http://${formatHost(host)}:${bound}`;
      core = new RelayCore({
        publicUrl,
        ...(options.antiEntropyIntervalMs === undefined
          ? {}
          : { antiEntropyIntervalMs: options.antiEntropyIntervalMs }),
        // Every stored update passes the version history (purge snapshots, schedule).
        storage: new RecordingStorage(storage, history),
        relayId,
        log,
        metrics,
        ...(options.commitWindowMs === undefined ? {} : { commitWindowMs: options.commitWindowMs }),
        ...(options.idleUnloadMs === undefined ? {} : { idleUnloadMs: options.idleUnloadMs }),
        ...(options.compactAfterUpdates === undefined
          ? {}
          : { compactAfterUpdates: options.compactAfterUpdates }),
        ...(options.handshakeTimeoutMs === undefined
          ? {}
          : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000,
        maxDocsPerConnection: limits.maxDocsPerConnection,
        ...(peerAuth === null
          ? {}
          : {
              peerProof: {
                make: () => peerAuth.token(),
                verify: (proof: string, peerId: string) => peerAuth.verify(proof, peerId),
              },
            }),
      });
      let tokens: TokenService | null = null;
      if (auth === 'on') {
        const openedCore = core;
        registry = await AuthRegistry.open(core);
        // Revocations made here or arriving by gossip end live sessions at once.
        registry.onRevoked((grantIds) => {
          const revoked = new Set(grantIds);
          openedCore.closeSessions(
            (a) => a.kind === 'client' && revoked.has(a.grantId),
            CloseCode.Forbidden,
            'access revoked',
          );
        });
        tokens = await TokenService.start({
          registry,
          meta: storage,
          relayId,
          ...(options.rotateKey === undefined ? {} : { rotateKey: options.rotateKey }),
          ...(options.retireKeys === undefined ? {} : { retireKeys: options.retireKeys }),
        });
        log('auth.signing_key', { kid: tokens.kid });
      }
      // maxPayload bounds a message's fragments together (a flood of continuations ends
      // with 1009); maxFragments bounds their count, so empty fragments end too (1008).
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: limits.maxFrameBytes,
        maxFragments: MAX_FRAGMENTS,
      });
      const relay = new RelayServer({
        server: httpServer,
        wss,
        storage,
        history,
        core,
        webDir: options.webDir,
        log,
        metrics,
        host,
        port: bound,
        pingIntervalMs,
        livenessTimeoutMs,
        tokens,
        registry,
        cluster,
        limits,
      });
      for (const peer of options.peers ?? []) {
        // A fresh peer token on every dial: it expires after minutes.
        core.addPeer(peerSyncUrl(peer), (url) => {
          const dialed =
            peerAuth === null ? url : `${url}?token=${encodeURIComponent(peerAuth.token())}`;
          return new WebSocketTransport(dialed, NodeWebSocket);
        });
      }
      log('relay.listening', { url: relay.url, relayId, dataDir: options.dataDir });
      return relay;
    } catch (err) {
      registry?.close();
      cluster?.close();
      await core?.close();
      server?.close();
      await history?.close();
      await storage.close();
      throw err;
    }
  }

  /** The relay's id: generated once, then kept in the data directory. */
  static async #relayId(storage: LevelStorage): Promise<string> {
    const stored = await storage.getMeta(RELAY_ID_KEY);
    if (stored !== undefined) return new TextDecoder().decode(stored);
    const id = crypto.randomUUID();
    await storage.setMeta(RELAY_ID_KEY, new TextEncoder().encode(id));
    return id;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#pingTimer);
    this.#registry?.close();
    this.#cluster?.close();
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.core.close();
    await this.#waitForSockets();
    this.#wss.close();
    this.#server.closeAllConnections();
    await serverClosed;
    // After the core flushed its rooms: the last changes get their versions.
    await this.#history.close();
    await this.#storage.close();
    this.#log('relay.closed', {});
  }

  /** Gives clients a moment to answer the GoingAway close, then cuts the rest. */
  async #waitForSockets(): Promise<void> {
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.#wss.clients.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const ws of this.#wss.clients) ws.terminate();
  }

  /**
   * The relay's liveness rule for every socket. A socket is heard when bytes
   * were read from it since the last sweep (any frame, or the pong to our
   * ping: browsers answer pings in the network stack, so neither a throttled
   * background tab's timers nor a busy main thread delay it), and also while
   * our backlog to it drains (a slow link busy with a large sync, its pong
   * queued behind our bytes). Silent for `livenessTimeoutMs` worth of
   * sweeps in a row: terminated, which leaves its rooms and tells their
   * members its awareness is gone. Counted in sweeps, not wall time: after
   * the relay's own stall (a long task, a GC pause) the first sweep runs
   * before the poll phase reads what arrived meanwhile, and a loaded relay's
   * late sweeps stretch the timeout instead of dropping everyone at once.
   * A socket whose Close arrived leaves its rooms at the next sweep.
   * Reads `bytesRead` here rather than marking each frame: no per-frame cost.
   */
  #sweep(): void {
    for (const ws of this.#wss.clients) {
      const live = this.#liveness.get(ws);
      if (live === undefined) continue;
      if (ws.readyState === WebSocket.CLOSING) {
        // The other end sent its Close (the relay's own closes end the session
        // first): it is leaving, though its TCP close may never come (a link
        // gone dark right after). `ws` ends the socket itself after 30 s.
        live.leave();
        continue;
      }
      const { socket } = live;
      const sample: SocketSample = {
        read: socket.bytesRead,
        backlog: ws.bufferedAmount,
        sent: socket.bytesWritten - socket.writableLength,
      };
      // A socket the relay stopped reading (rate limit, full queue) cannot show us its pong.
      if (ws.isPaused || showedLife(live, sample)) live.silentSweeps = 0;
      else live.silentSweeps++;
      live.read = sample.read;
      live.backlog = sample.backlog;
      live.sent = sample.sent;
      if (live.silentSweeps >= this.#deadAfterSweeps) {
        this.#log('socket.ping_timeout', {
          conn: this.#socketIds.get(ws),
          silentMs: live.silentSweeps * this.#pingIntervalMs,
        });
        this.#metrics.rejected('heartbeat_timeout');
        ws.terminate();
      } else if (live.silentSweeps > 0 && ws.readyState === WebSocket.OPEN) {
        ws.ping();
      }
    }
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    this.#trackRequest(req, res);
    if (pathname === '/metrics') {
      this.#serveMetrics(req, res);
      return;
    }
    if (isAuthApiPath(pathname)) {
      void handleAuthApi(req, res, pathname, {
        core: this.core,
        tokens: this.#tokens,
        registry: this.#registry,
        log: this.#log,
      });
      return;
    }
    if (isHistoryApiPath(pathname)) {
      void handleHistoryApi(req, res, pathname, {
        store: this.#history.store,
        tokens: this.#tokens,
        log: this.#log,
      });
      return;
    }
    if (pathname === '/healthz') {
      const body = JSON.stringify({
        ok: true,
        relayId: this.core.relayId,
        uptimeS: Math.floor((Date.now() - this.#startedAt) / 1000),
        ...this.core.stats(),
      });
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === '/api/cluster') {
      const info = this.core.clusterInfo();
      const relays: string[] = [];
      const add = (url: string | null) => {
        if (url !== null && !relays.includes(url)) relays.push(url);
      };
      add(info.url === null ? null : syncUrlOfPublic(info.url));
      // Clients reach a peer at the public URL it announced; the address this
      // relay dials may be an internal one.
      for (const peer of info.peers) {
        // A dial target that never introduced itself has no known client address,
        // and may be a relay already listed under its own inbound link: a client
        // counted it as one relay more ("saved on 3 of 4"). Listed once it answers.
        if (peer.relayId === null) continue;
        if (peer.publicUrl !== null) add(syncUrlOfPublic(peer.publicUrl));
        else if (peer.url !== null) {
          add(peer.url.startsWith('ws') ? peer.url : syncUrlOfPublic(peer.url));
        }
      }
      const body = JSON.stringify({ ...info, relays });
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        // The web app served by another relay of the cluster may ask too.
        'Access-Control-Allow-Origin': '*',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === SYNC_PATH || pathname.startsWith(YWS_PATH_PREFIX)) {
      sendText(res, 426, 'this endpoint speaks WebSocket: connect with ws:// or wss://\n', {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
      });
      return;
    }
    serveStatic(req, res, pathname, this.#webDir).catch((err: unknown) => {
      this.#log('http.error', { path: pathname, error: String(err) });
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    });
  }

  /** Echoes the request id and logs the request once the response is done (or aborted). */
  #trackRequest(req: IncomingMessage, res: ServerResponse): void {
    const reqId = requestIdOf(req);
    const started = performance.now();
    res.setHeader('X-Request-Id', reqId);
    res.once('close', () => {
      this.#log('http.request', {
        reqId,
        method: req.method,
        path: sanitizeUrl(req.url ?? '/'),
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
  }

  #serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    this.#metrics.render().then(
      (body) => {
        res.writeHead(200, {
          'Content-Type': this.#metrics.contentType,
          'Cache-Control': 'no-store',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        this.#log('http.error', { path: '/metrics', error: String(err) });
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      },
    );
  }

  /** Refuses an upgrade with an HTTP status (the request id echoed) and logs it. */
  #refuseUpgrade(req: IncomingMessage, socket: Duplex, status: number, body: string): void {
    const reqId = requestIdOf(req);
    this.#log('http.upgrade_refused', {
      reqId,
      path: sanitizeUrl(req.url ?? '/'),
      status,
      reason: body,
    });
    refuseUpgrade(socket, status, body, reqId);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.#closing !== null) {
      this.#refuseUpgrade(req, socket, 503, 'relay shutting down');
      return;
    }
    if (!this.#admit(req, socket)) return;
    // The raw path: URL normalization would rewrite `..` segments of doc names.
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === SYNC_PATH) {
      this.#authorizedUpgrade(req, socket, head, (conn, access) =>
        this.core.acceptMultiplexed(conn, access),
      );
      return;
    }
    if (pathname.startsWith(YWS_PATH_PREFIX)) {
      let docName: string;
      try {
        docName = decodeURIComponent(pathname.slice(YWS_PATH_PREFIX.length));
      } catch {
        this.#refuseUpgrade(req, socket, 400, 'invalid doc name: bad percent-encoding');
        return;
      }
      const problem = docNameProblem(docName);
      if (problem !== undefined) {
        this.#refuseUpgrade(req, socket, 400, `invalid doc name: ${problem}`);
        return;
      }
      this.#authorizedUpgrade(req, socket, head, (conn, access) =>
        this.core.acceptYWebsocket(conn, docName, access),
      );
      return;
    }
    this.#refuseUpgrade(req, socket, 404, `no WebSocket endpoint at ${sanitizeUrl(pathname)}`);
  }

  /**
   * Counts the connection against the total and per-address limits (released
   * when its socket closes), or refuses it: 503 at the total, 429 per address.
   */
  #admit(req: IncomingMessage, socket: Duplex): boolean {
    const ip = req.socket.remoteAddress ?? 'unknown';
    const fromIp = this.#connectionsPerIp.get(ip) ?? 0;
    if (this.#connections >= this.#limits.maxConnections) {
      this.#metrics.rejected('too_many_connections');
      this.#refuseUpgrade(req, socket, 503, 'too many connections');
      return false;
    }
    if (fromIp >= this.#limits.maxConnectionsPerIp) {
      this.#metrics.rejected('too_many_connections');
      this.#refuseUpgrade(req, socket, 429, 'too many connections from this address');
      return false;
    }
    this.#connections++;
    this.#connectionsPerIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      this.#connections--;
      const left = (this.#connectionsPerIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#connectionsPerIp.set(ip, left);
      else this.#connectionsPerIp.delete(ip);
    });
    return true;
  }

  /**
   * Verifies the request's token, then upgrades. A refused token still gets
   * the upgrade and then a close code (4401/4419/4403): browsers cannot read
   * the HTTP status of a failed upgrade.
   */
  #authorizedUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    accept: (conn: RelayConnection, access: Access) => ConnectionHandler,
  ): void {
    authenticate(tokenOf(req.url), this.#tokens, this.#cluster).then(
      (auth) => {
        if (this.#closing !== null) {
          this.#refuseUpgrade(req, socket, 503, 'relay shutting down');
          return;
        }
        this.#wss.handleUpgrade(req, socket, head, (ws) => {
          if (!auth.ok) {
            this.#metrics.rejected(auth.rejected);
            this.#log('auth.refused', {
              reqId: requestIdOf(req),
              code: auth.code,
              reason: auth.reason,
            });
            ws.close(auth.code, auth.reason);
            return;
          }
          // Peer links carry a whole cluster's gossip: a client-sized rate
          // limit would throttle replication. They proved the cluster secret.
          this.#attach(ws, req, (conn) => accept(conn, auth.access), auth.access.kind !== 'peer');
          this.#closeAtExpiry(ws, auth.access);
        });
      },
      (err: unknown) => {
        this.#log('auth.error', { error: err instanceof Error ? err.message : String(err) });
        this.#refuseUpgrade(req, socket, 500, 'internal error');
      },
    );
  }

  /** A session whose token expires is closed with `TokenExpired` at that moment. */
  #closeAtExpiry(ws: WebSocket, access: Access): void {
    if (access.kind !== 'client' || access.expiresAt === null) return;
    const expiresAt = access.expiresAt;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) {
        this.#metrics.rejected('token_expired');
        this.core.closeSessions((a) => a === access, CloseCode.TokenExpired, 'token expired');
        return;
      }
      // setTimeout cannot wait longer than 2^31-1 ms (~24.8 days): re-arm in steps.
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
    ws.once('close', () => clearTimeout(timer));
  }

  #attach(
    ws: WebSocket,
    req: IncomingMessage,
    accept: (conn: RelayConnection) => ConnectionHandler,
    rateLimited = true,
  ): void {
    const id = requestIdOf(req);
    const metrics = this.#metrics;
    this.#socketIds.set(ws, id);
    this.#log('http.upgrade', { reqId: id, path: sanitizeUrl(req.url ?? '/'), status: 101 });
    // Two reasons to stop reading: the session's queue is full, or the sender
    // is over its rate. Reading resumes only when neither holds.
    let sessionPaused = false;
    let rateTimer: ReturnType<typeof setTimeout> | undefined;
    const flow = () => {
      const paused = sessionPaused || rateTimer !== undefined;
      if (paused && !ws.isPaused) ws.pause();
      else if (!paused && ws.isPaused && ws.readyState === WebSocket.OPEN) ws.resume();
    };
    // Every frame sent to this socket in one event-loop turn leaves in one
    // write (writev) when the turn's poll phase is over: one syscall per frame
    // was the relay's largest cost under fan-out (bench/README.md, "Fan-out"),
    // and a busy turn sends a socket several (fan-out, acks). The socket is
    // the upgraded request's; ws writes to it.
    const socket = req.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    const cork = () => {
      if (corked) return;
      corked = true;
      socket.cork();
      setImmediate(uncork);
    };
    const limiter = new RateLimiter(this.#limits.rateLimit);
    const throttle = (bytes: number) => {
      if (!rateLimited) return;
      const waitMs = limiter.take(bytes);
      if (waitMs === 0 || rateTimer !== undefined) return;
      metrics.rejected('rate_limited');
      const wait = (ms: number) => {
        rateTimer = setTimeout(() => {
          const more = limiter.waitMs();
          if (more > 0) wait(more);
          else {
            rateTimer = undefined;
            flow();
          }
        }, ms);
      };
      wait(waitMs);
      flow();
    };
    const conn: RelayConnection = {
      id,
      ...(req.socket.remoteAddress === undefined
        ? {}
        : { remoteAddress: req.socket.remoteAddress }),
      pause: () => {
        sessionPaused = true;
        flow();
      },
      resume: () => {
        sessionPaused = false;
        flow();
      },
      send: (frame) => {
        if (ws.readyState === WebSocket.OPEN) {
          cork();
          ws.send(frame);
          metrics.frame('out', frame.byteLength);
          // Earlier frames of the turn go first: the order on the socket is kept.
          if (frame.byteLength >= WRITE_NOW_BYTES) uncork();
        }
      },
      close: (code, reason) => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
          ws.close(code, truncateReason(reason));
        }
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const handler = accept(conn);
    this.#liveness.set(ws, {
      socket: req.socket,
      leave: () => handler.closed(),
      silentSweeps: 0,
      read: req.socket.bytesRead,
      backlog: 0,
      sent: 0,
    });
    ws.on('message', (data, isBinary) => {
      const bytes = toBytes(data);
      metrics.frame('in', bytes.byteLength);
      throttle(bytes.byteLength);
      if (!isBinary) {
        metrics.rejected('malformed');
        conn.close(CloseCode.MalformedFrame, 'text frames are not part of the protocol');
        handler.closed();
        return;
      }
      handler.receive(bytes);
    });
    ws.on('close', () => {
      clearTimeout(rateTimer);
      handler.closed();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes with 1009 itself; counted here.
      if (
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ||
        err.code === 'WS_ERR_TOO_MANY_BUFFERED_PARTS'
      ) {
        metrics.rejected('too_big');
      }
      this.#log('socket.error', { conn: id, error: err.message });
    });
  }
}
