import type { RelayLog } from '@lattice/replication';
import { type DestinationStream, type Level, type Logger, pino } from 'pino';

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** `debug` level: per-room, per-commit and static-file events too (default `info`). */
  verbose?: boolean;
  /** Where JSON lines go (default: stderr, written synchronously). */
  destination?: DestinationStream;
}

/**
 * Field names whose values are secrets wherever they appear in a log event
 * (pino `redact`: the value becomes `[Redacted]`).
 */
export const REDACTED_PATHS: readonly string[] = [
  'token',
  'authorization',
  'proof',
  'secret',
  '*.token',
  '*.authorization',
  '*.proof',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
];

/**
 * A pino logger writing JSON lines to stderr. The destination is synchronous
 * (`sync: true`): every line is written before the call returns, so a crash —
 * even `kill -9` — loses no line already logged, at the cost of one write per
 * line (the default `info` level is low-volume; `verbose` trades throughput
 * for detail).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.verbose === true ? 'debug' : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: '[Redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * A URL or request target fit for a log line: the query string and fragment
 * dropped (tokens travel in `?token=`) and any `user:password@` removed.
 */
export function sanitizeUrl(url: string): string {
  const cut = url.search(/[?#]/);
  const base = cut < 0 ? url : url.slice(0, cut);
  // `scheme://user:pass@host/…`: keep the scheme and what follows the `@`.
  return base.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** `token=…` inside free text (an error message quoting a URL): the value is blanked. */
const TOKEN_IN_TEXT = /([?&]token=)[^&\s"'#]*/gi;
const BEARER_IN_TEXT = /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

function scrubText(text: string): string {
  return text.replace(TOKEN_IN_TEXT, '$1[Redacted]').replace(BEARER_IN_TEXT, '$1[Redacted]');
}

/** Events an operator wants to see every time: storage or internal failures. */
const ERROR_EVENT = /^(room|relay)\.[a-z_]*failed$|^(session|peer|http)\.error$/;
/** Refusals, timeouts and other failures (often caused by the remote end). */
const WARN_EVENT = /failed|error|timeout|rejected|refused|unused/;
/** Chatty per-room, per-commit and per-round events: only with `--verbose`. */
const DEBUG_EVENT =
  /^room\.(loaded|unloaded|compacted|committed)$|^peer\.anti_entropy(_done)?$|^relay\.index_loaded$/;

/**
 * The pino level of a core event. `http.request` depends on the path: API
 * calls are `info`, static files, `/metrics` and `/healthz` (scraped every few
 * seconds) `debug`, server errors `error`. `session.close` is `info` for
 * "going away" (shutdown) and `warn` otherwise (the relay refused something).
 */
export function levelOf(event: string, fields: Record<string, unknown>): Level {
  if (event === 'http.request') {
    const status = typeof fields.status === 'number' ? fields.status : 0;
    if (status >= 500) return 'error';
    const path = typeof fields.path === 'string' ? fields.path : '';
    return path.startsWith('/api/') ? 'info' : 'debug';
  }
  if (event === 'session.close') {
    return fields.code === 1001 || fields.code === 1000 ? 'info' : 'warn';
  }
  if (ERROR_EVENT.test(event)) return 'error';
  if (WARN_EVENT.test(event)) return 'warn';
  if (DEBUG_EVENT.test(event)) return 'debug';
  return 'info';
}

/**
 * Adapts a pino logger to the core's `(event, fields)` sink: `event` becomes
 * both a field and the message, the level comes from `levelOf`, and every
 * top-level string field is cleaned of `?token=` values and bearer tokens
 * (URLs logged under any name, error messages quoting a URL) — `redact`
 * covers the fields known to hold secrets.
 */
export function relayLog(logger: Logger): RelayLog {
  return (event, fields) => {
    const level = levelOf(event, fields);
    if (!logger.isLevelEnabled(level)) return;
    const clean: Record<string, unknown> = { event };
    for (const [key, value] of Object.entries(fields)) {
      clean[key] = typeof value === 'string' ? scrubText(value) : value;
    }
    logger[level](clean, event);
  };
}
