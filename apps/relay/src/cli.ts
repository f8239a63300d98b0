import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
      heartbeatIntervalMs?: number;
      heartbeatTimeoutMs?: number;
      publicUrl?: string;
      antiEntropyIntervalMs?: number;
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
  --auth off          access control; only "off" is supported for now
  --web-dir <dir>     built web app to serve (default apps/web/dist)
  --ping-interval <ms>      WebSocket ping period; a socket that misses a pong is
                            dropped (default 15000)
  --heartbeat-interval <ms> Lattice heartbeat probes to /sync sockets (default 5000)
  --heartbeat-timeout <ms>  drop a /sync socket silent this long (default 15000)
  --verbose           log every relay event to stderr as JSON lines
  -h, --help          show this help
`;

/** apps/web/dist, next to this package. */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * Parses `lattice-relay` arguments. Relative paths resolve against `baseDir`
 * (the directory the user ran pnpm in). Throws `CliError` on any bad input.
 */
export function parseCli(argv: readonly string[], baseDir: string): CliCommand {
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
    'heartbeat-interval'?: string;
    'heartbeat-timeout'?: string;
    'public-url'?: string;
    'anti-entropy-interval'?: string;
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
        'heartbeat-interval': { type: 'string' },
        'heartbeat-timeout': { type: 'string' },
        'public-url': { type: 'string' },
        'anti-entropy-interval': { type: 'string' },
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

  const auth = values.auth ?? 'off';
  if (auth !== 'off') {
    throw new CliError(
      `--auth ${auth} is not available: token auth arrives with the security work; only "--auth off" is supported for now`,
    );
  }

  const dataDir = values['data-dir'] ?? './data';
  if (dataDir === '') throw new CliError('--data-dir must not be empty');
  const webDir = values['web-dir'];
  if (webDir === '') throw new CliError('--web-dir must not be empty');
  const fromBase = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const pingIntervalMs = milliseconds('--ping-interval', values['ping-interval']);
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

  return {
    kind: 'run',
    host,
    port: Number(portText),
    dataDir: fromBase(dataDir),
    webDir: webDir === undefined ? DEFAULT_WEB_DIR : fromBase(webDir),
    peers,
    verbose: values.verbose ?? false,
    ...(pingIntervalMs === undefined ? {} : { pingIntervalMs }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
    ...(publicUrl === undefined ? {} : { publicUrl: publicUrl.replace(/\/+$/, '') }),
    ...(aeText === undefined ? {} : { antiEntropyIntervalMs: Number(aeText) }),
  };
}

function milliseconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) === 0) {
    throw new CliError(`${flag} must be a positive whole number of milliseconds, got "${text}"`);
  }
  return Number(text);
}
