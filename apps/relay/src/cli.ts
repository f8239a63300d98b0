import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { HistoryOptions } from './history/HistoryRecorder.ts';
import { HISTORY_FLAG_OPTIONS, HISTORY_USAGE, parseHistoryFlags } from './history/historyFlags.ts';

/** A command-line mistake: printed with a usage hint, exit code 2. */
export class CliError extends Error {
  override name = 'CliError';
}

/** What `lattice-relay` was asked to do. */
export type CliCommand =
  | { kind: 'help' }
  | {
      kind: 'run';
      host: string;
      port: number;
      dataDir: string;
      webDir: string;
      peers: string[];
      verbose: boolean;
      /** Only when given on the command line (the relay has defaults). */
      pingIntervalMs?: number;
      livenessTimeoutMs?: number;
      heartbeatIntervalMs?: number;
      heartbeatTimeoutMs?: number;
      publicUrl?: string;
      antiEntropyIntervalMs?: number;
      syncWindowMs?: number;
      /** Access control (`--auth`, default on). */
      auth: 'on' | 'off';
      /** From `--cluster-secret-file` or `LATTICE_CLUSTER_SECRET`. */
      clusterSecret?: Uint8Array;
      rotateKey: boolean;
      retireKeys: string[];
      /** Hostile-input limits, only when given (the relay has defaults). */
      maxFrameBytes?: number;
      maxConnections?: number;
      maxConnectionsPerIp?: number;
      maxDocsPerConnection?: number;
      rateLimit?: { framesPerSecond: number; bytesPerSecond: number };
      /** Version history flags, only when given (the relay has defaults). */
      history?: HistoryOptions;
    };

export const USAGE = `Usage: pnpm relay [options]

Runs a Lattice relay: the web app, /healthz, and WebSocket sync on one port.

Options:
  --host <host>       interface to listen on (default 127.0.0.1)
  --port <port>       port to listen on, 0 picks a free one (default 8080)
  --data-dir <dir>    LevelDB data directory (default ./data)
  --peer <ws-url>     a peer relay's base URL, e.g. ws://10.0.0.2:8080 (repeatable);
                      the relay keeps a gossip link to <ws-url>/sync
  --public-url <url>  this relay's URL as peers and browsers reach it
                      (default http://HOST:PORT as bound)
  --anti-entropy-interval <ms>  digest exchange with each peer this often, besides
                      on every reconnect (default 30000; 0: only on reconnect)
  --sync-window <ms>  group commit across docs: sync a batch of writes this long
                      after its first arrived, with every write that came
                      meanwhile (default 2; 0 syncs at once)
  --auth on|off       access control (default on): tokens on every WebSocket and
                      the /api/workspaces API; "off" lets anyone who can reach
                      the relay read and write every workspace (development only)
  --cluster-secret-file <path>  file with the secret shared by all relays of a
                      cluster (at least 32 bytes; or env LATTICE_CLUSTER_SECRET);
                      peer links authenticate with it, required for --peer with auth on
  --rotate-key        sign new tokens with a fresh key (old keys keep verifying)
  --retire-key <kid>  stop accepting tokens signed with key <kid> (repeatable)
  --web-dir <dir>     built web app to serve (default apps/web/dist)
  --ping-interval <ms>      liveness sweep: a socket silent since the last sweep
                            gets a WebSocket ping (default 1000)
  --liveness-timeout <ms>   drop a socket that sent nothing, not even a pong, this
                            long (default 4000; at least twice --ping-interval)
  --heartbeat-interval <ms> Lattice heartbeat probes to /sync sockets (default 5000)
  --heartbeat-timeout <ms>  drop a /sync socket silent this long (default 15000)
  --max-frame-bytes <n>     largest WebSocket message, fragmented ones too; larger
                            ones close with 1009 (default 16777216 = 16 MiB)
  --max-connections <n>     open WebSockets in total; more get HTTP 503 (default 10000)
  --max-connections-per-ip <n>  open WebSockets per client address; more get
                            HTTP 429 (default 1000)
  --max-docs-per-connection <n>  docs one /sync socket may subscribe; more get
                            DocError TooManyDocs (default 20000)
  --rate-limit <frames/s>   per-connection inbound frames per second, 2 s bursts;
                            above it the relay stops reading the socket until the
                            budget refills (default 500)
  --rate-limit-bytes <bytes/s>  per-connection inbound bytes per second, same rule
                            (default 16384 × --rate-limit, i.e. 8 MiB/s at 500)
${HISTORY_USAGE}  --verbose           debug-level logs (every relay event) on stderr
  -h, --help          show this help
`;

/** apps/web/dist, next to this package. */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * Parses `lattice-relay` arguments. Relative paths resolve against `baseDir`
 * (the directory the user ran pnpm in). Throws `CliError` on any bad input.
 */
export function parseCli(
  argv: readonly string[],
  baseDir: string,
  env: Readonly<Record<string, string | undefined>> = {},
): CliCommand {
  // `pnpm relay -- --port 0` may hand the separator through to us.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let values: {
    host?: string;
    port?: string;
    'data-dir'?: string;
    peer?: string[];
    auth?: string;
    'web-dir'?: string;
    'ping-interval'?: string;
    'liveness-timeout'?: string;
    'heartbeat-interval'?: string;
    'heartbeat-timeout'?: string;
    'public-url'?: string;
    'anti-entropy-interval'?: string;
    'sync-window'?: string;
    'cluster-secret-file'?: string;
    'rotate-key'?: boolean;
    'retire-key'?: string[];
    'max-frame-bytes'?: string;
    'max-connections'?: string;
    'max-connections-per-ip'?: string;
    'max-docs-per-connection'?: string;
    'rate-limit'?: string;
    'rate-limit-bytes'?: string;
    'history-interval'?: string;
    'history-keep-all'?: string;
    'history-hourly'?: string;
    'history-daily'?: string;
    'history-max'?: string;
    verbose?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        peer: { type: 'string', multiple: true },
        auth: { type: 'string' },
        'web-dir': { type: 'string' },
        'ping-interval': { type: 'string' },
        'liveness-timeout': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'heartbeat-timeout': { type: 'string' },
        'public-url': { type: 'string' },
        'anti-entropy-interval': { type: 'string' },
        'sync-window': { type: 'string' },
        'cluster-secret-file': { type: 'string' },
        'rotate-key': { type: 'boolean' },
        'retire-key': { type: 'string', multiple: true },
        'max-frame-bytes': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-connections-per-ip': { type: 'string' },
        'max-docs-per-connection': { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-limit-bytes': { type: 'string' },
        ...HISTORY_FLAG_OPTIONS,
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (values.help) return { kind: 'help' };

  const host = values.host ?? '127.0.0.1';
  if (host.trim() === '') throw new CliError('--host must not be empty');

  const portText = values.port ?? '8080';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new CliError(`--port must be an integer from 0 to 65535, got "${portText}"`);
  }

  const peers = values.peer ?? [];
  for (const peer of peers) {
    let url: URL;
    try {
      url = new URL(peer);
    } catch {
      throw new CliError(`--peer must be a ws:// or wss:// URL, got "${peer}"`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new CliError(`--peer must be a ws:// or wss:// URL, got "${peer}"`);
    }
  }

  const auth = values.auth ?? 'on';
  if (auth !== 'on' && auth !== 'off') {
    throw new CliError(`--auth must be "on" or "off", got "${auth}"`);
  }
  const fromBase = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const clusterSecret = readClusterSecret(values['cluster-secret-file'], env, fromBase);
  if (auth === 'on' && peers.length > 0 && clusterSecret === undefined) {
    throw new CliError(
      '--peer needs a cluster secret when auth is on: pass --cluster-secret-file <path> or set LATTICE_CLUSTER_SECRET',
    );
  }
  const retireKeys = values['retire-key'] ?? [];
  for (const kid of retireKeys) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(kid)) {
      throw new CliError(`--retire-key must be a key id (letters, digits, _ and -), got "${kid}"`);
    }
  }
  if (auth === 'off' && (values['rotate-key'] || retireKeys.length > 0)) {
    throw new CliError('--rotate-key and --retire-key need --auth on');
  }

  const dataDir = values['data-dir'] ?? './data';
  if (dataDir === '') throw new CliError('--data-dir must not be empty');
  const webDir = values['web-dir'];
  if (webDir === '') throw new CliError('--web-dir must not be empty');
  const pingIntervalMs = milliseconds('--ping-interval', values['ping-interval']);
  const livenessTimeoutMs = milliseconds('--liveness-timeout', values['liveness-timeout']);
  if (livenessTimeoutMs !== undefined && livenessTimeoutMs < 2 * (pingIntervalMs ?? 1_000)) {
    throw new CliError('--liveness-timeout must be at least twice --ping-interval');
  }
  const heartbeatIntervalMs = milliseconds('--heartbeat-interval', values['heartbeat-interval']);
  const heartbeatTimeoutMs = milliseconds('--heartbeat-timeout', values['heartbeat-timeout']);
  if ((heartbeatTimeoutMs ?? 15_000) <= (heartbeatIntervalMs ?? 5_000)) {
    throw new CliError('--heartbeat-timeout must be longer than --heartbeat-interval');
  }

  const publicUrl = values['public-url'];
  if (publicUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(publicUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new CliError(`--public-url must be an http:// or https:// URL, got "${publicUrl}"`);
    }
  }
  const aeText = values['anti-entropy-interval'];
  if (aeText !== undefined && !/^\d{1,9}$/.test(aeText)) {
    throw new CliError(
      `--anti-entropy-interval must be a whole number of milliseconds (0 disables), got "${aeText}"`,
    );
  }

  const windowText = values['sync-window'];
  if (windowText !== undefined && !/^\d{1,4}$/.test(windowText)) {
    throw new CliError(
      `--sync-window must be a whole number of milliseconds up to 9999 (0 syncs at once), got "${windowText}"`,
    );
  }

  let history: HistoryOptions | undefined;
  try {
    history = parseHistoryFlags(values);
  } catch (err) {
    throw new CliError((err as Error).message);
  }

  return {
    kind: 'run',
    host,
    port: Number(portText),
    dataDir: fromBase(dataDir),
    webDir: webDir === undefined ? DEFAULT_WEB_DIR : fromBase(webDir),
    peers,
    verbose: values.verbose ?? false,
    ...(pingIntervalMs === undefined ? {} : { pingIntervalMs }),
    ...(livenessTimeoutMs === undefined ? {} : { livenessTimeoutMs }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
    ...(publicUrl === undefined ? {} : { publicUrl: publicUrl.replace(/\/+$/, '') }),
    ...(aeText === undefined ? {} : { antiEntropyIntervalMs: Number(aeText) }),
    ...(windowText === undefined ? {} : { syncWindowMs: Number(windowText) }),
    auth,
    ...(clusterSecret === undefined ? {} : { clusterSecret }),
    rotateKey: values['rotate-key'] ?? false,
    retireKeys,
    ...limitFlags(values),
    ...(history === undefined ? {} : { history }),
  };
}

/** Bytes per second allowed per frame per second when only `--rate-limit` is given. */
const RATE_LIMIT_BYTES_PER_FRAME = 16 * 1024;

function limitFlags(values: Record<string, string | boolean | string[] | undefined>): {
  maxFrameBytes?: number;
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  maxDocsPerConnection?: number;
  rateLimit?: { framesPerSecond: number; bytesPerSecond: number };
} {
  const maxFrameBytes = count('--max-frame-bytes', values['max-frame-bytes']);
  const maxConnections = count('--max-connections', values['max-connections']);
  const maxConnectionsPerIp = count('--max-connections-per-ip', values['max-connections-per-ip']);
  const maxDocsPerConnection = count(
    '--max-docs-per-connection',
    values['max-docs-per-connection'],
  );
  const framesPerSecond = count('--rate-limit', values['rate-limit']);
  const bytesPerSecond = count('--rate-limit-bytes', values['rate-limit-bytes']);
  const rateLimit =
    framesPerSecond === undefined && bytesPerSecond === undefined
      ? undefined
      : {
          framesPerSecond: framesPerSecond ?? 500,
          bytesPerSecond: bytesPerSecond ?? (framesPerSecond ?? 500) * RATE_LIMIT_BYTES_PER_FRAME,
        };
  return {
    ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(maxConnectionsPerIp === undefined ? {} : { maxConnectionsPerIp }),
    ...(maxDocsPerConnection === undefined ? {} : { maxDocsPerConnection }),
    ...(rateLimit === undefined ? {} : { rateLimit }),
  };
}

/** A positive whole number flag (at most 2^40, so any later arithmetic stays exact). */
function count(flag: string, text: unknown): number | undefined {
  if (text === undefined) return undefined;
  if (
    typeof text !== 'string' ||
    !/^\d{1,13}$/.test(text) ||
    Number(text) === 0 ||
    Number(text) > 2 ** 40
  ) {
    throw new CliError(`${flag} must be a positive whole number, got "${String(text)}"`);
  }
  return Number(text);
}

/** Minimum cluster secret length (HS256 wants 256 bits of key). */
const MIN_SECRET_BYTES = 32;

/**
 * The cluster secret from `--cluster-secret-file` (wins) or the
 * `LATTICE_CLUSTER_SECRET` env var; trailing whitespace is dropped so that
 * `echo`-written files and hand-edited ones agree.
 */
function readClusterSecret(
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  fromBase: (p: string) => string,
): Uint8Array | undefined {
  let text: string;
  let source: string;
  if (file !== undefined) {
    if (file === '') throw new CliError('--cluster-secret-file must not be empty');
    source = `--cluster-secret-file ${file}`;
    try {
      text = readFileSync(fromBase(file), 'utf8');
    } catch (err) {
      throw new CliError(
        `${source}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  } else if (env.LATTICE_CLUSTER_SECRET !== undefined && env.LATTICE_CLUSTER_SECRET !== '') {
    source = 'LATTICE_CLUSTER_SECRET';
    text = env.LATTICE_CLUSTER_SECRET;
  } else {
    return undefined;
  }
  const secret = new TextEncoder().encode(text.replace(/\s+$/, ''));
  if (secret.byteLength < MIN_SECRET_BYTES) {
    throw new CliError(
      `${source}: the cluster secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.byteLength}`,
    );
  }
  return secret;
}

function milliseconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) === 0) {
    throw new CliError(`${flag} must be a positive whole number of milliseconds, got "${text}"`);
  }
  return Number(text);
}
