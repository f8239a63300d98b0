import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  type ConnectionHandler,
  DEFAULT_MAX_FRAME_BYTES,
  docNameProblem,
  type RelayConnection,
  RelayCore,
  type RelayLog,
  SYNC_PATH,
  WebSocketTransport,
  YWS_PATH_PREFIX,
} from '@lattice/replication';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { LevelStorage } from './LevelStorage.ts';
import { sendText, serveStatic } from './staticFiles.ts';

/** Options of `startRelay`. */
export interface RelayOptions {
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
  /** Structured event sink; silent when omitted. */
  log?: RelayLog;
  /**
   * WebSocket-level ping period for every socket (plain y-websocket clients
   * rely on it); a socket that did not answer the previous ping with a pong
   * is terminated, freeing its awareness (default 15 s).
   */
  pingIntervalMs?: number;
  /** Lattice heartbeat probes to multiplexed sockets (default 5 s; see `RelayCoreOptions`). */
  heartbeatIntervalMs?: number;
  /** A multiplexed socket silent this long is closed with `HeartbeatTimeout` (default 15 s). */
  heartbeatTimeoutMs?: number;
  /** Passed to `RelayCore`. */
  commitWindowMs?: number;
  idleUnloadMs?: number;
  compactAfterUpdates?: number;
  handshakeTimeoutMs?: number;
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
/** Longest close reason a WebSocket close frame can carry, in bytes. */
const MAX_CLOSE_REASON_BYTES = 123;
/** How long shutdown waits for clients to finish the closing handshake. */
const CLOSE_GRACE_MS = 1000;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
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
function refuseUpgrade(socket: Duplex, status: number, body: string): void {
  const text = `${body}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
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
  readonly #webDir: string;
  readonly #log: RelayLog;
  readonly #startedAt = Date.now();
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #pingTimer: ReturnType<typeof setInterval>;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
    server: Server;
    wss: WebSocketServer;
    storage: LevelStorage;
    core: RelayCore;
    webDir: string;
    log: RelayLog;
    host: string;
    port: number;
    pingIntervalMs: number;
  }) {
    this.#server = parts.server;
    this.#wss = parts.wss;
    this.#storage = parts.storage;
    this.core = parts.core;
    this.#webDir = parts.webDir;
    this.#log = parts.log;
    this.host = parts.host;
    this.port = parts.port;
    this.url = `http://${formatHost(parts.host)}:${parts.port}`;
    this.#pingTimer = setInterval(() => this.#pingAll(), parts.pingIntervalMs);
    this.#server.on('request', (req, res) => this.#onRequest(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  /** Opens storage, starts listening and resolves once the port is bound. */
  static async start(options: RelayOptions): Promise<RelayServer> {
    const log = options.log ?? (() => {});
    const host = options.host ?? '127.0.0.1';
    const pingIntervalMs = options.pingIntervalMs ?? 15_000;
    if (!(Number.isFinite(pingIntervalMs) && pingIntervalMs > 0)) {
      throw new RangeError(
        `pingIntervalMs must be a positive number, got ${options.pingIntervalMs}`,
      );
    }
    const port = options.port ?? 8080;
    try {
      await mkdir(options.dataDir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create data dir ${options.dataDir}: ${(err as Error).message}`);
    }
    const storage = await LevelStorage.open(options.dataDir);
    let server: Server | undefined;
    let core: RelayCore | undefined;
    try {
      const relayId = await RelayServer.#relayId(storage);
      const httpServer = createServer();
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
        storage,
        relayId,
        log,
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
      });
      const wss = new WebSocketServer({ noServer: true, maxPayload: DEFAULT_MAX_FRAME_BYTES });
      const relay = new RelayServer({
        server: httpServer,
        wss,
        storage,
        core,
        webDir: options.webDir,
        log,
        host,
        port: bound,
        pingIntervalMs,
      });
      for (const peer of options.peers ?? []) {
        core.addPeer(peerSyncUrl(peer), (url) => new WebSocketTransport(url, NodeWebSocket));
      }
      log('relay.listening', { url: relay.url, relayId, dataDir: options.dataDir });
      return relay;
    } catch (err) {
      await core?.close();
      server?.close();
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
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.core.close();
    await this.#waitForSockets();
    this.#wss.close();
    this.#server.closeAllConnections();
    await serverClosed;
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

  #pingAll(): void {
    for (const ws of this.#wss.clients) {
      if (this.#alive.get(ws) === false) {
        this.#log('socket.ping_timeout', {});
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
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

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.#closing !== null) {
      refuseUpgrade(socket, 503, 'relay shutting down');
      return;
    }
    // The raw path: URL normalization would rewrite `..` segments of doc names.
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === SYNC_PATH) {
      this.#wss.handleUpgrade(req, socket, head, (ws) =>
        this.#attach(ws, (conn) => this.core.acceptMultiplexed(conn)),
      );
      return;
    }
    if (pathname.startsWith(YWS_PATH_PREFIX)) {
      let docName: string;
      try {
        docName = decodeURIComponent(pathname.slice(YWS_PATH_PREFIX.length));
      } catch {
        refuseUpgrade(socket, 400, 'invalid doc name: bad percent-encoding');
        return;
      }
      const problem = docNameProblem(docName);
      if (problem !== undefined) {
        refuseUpgrade(socket, 400, `invalid doc name: ${problem}`);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) =>
        this.#attach(ws, (conn) => this.core.acceptYWebsocket(conn, docName)),
      );
      return;
    }
    refuseUpgrade(socket, 404, `no WebSocket endpoint at ${pathname}`);
  }

  #attach(ws: WebSocket, accept: (conn: RelayConnection) => ConnectionHandler): void {
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    const conn: RelayConnection = {
      send: (frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
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
    ws.on('message', (data, isBinary) => {
      this.#alive.set(ws, true);
      if (!isBinary) {
        conn.close(CloseCode.MalformedFrame, 'text frames are not part of the protocol');
        handler.closed();
        return;
      }
      handler.receive(toBytes(data));
    });
    ws.on('close', () => handler.closed());
    ws.on('error', (err) => this.#log('socket.error', { error: err.message }));
  }
}
