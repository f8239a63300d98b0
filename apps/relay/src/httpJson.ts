import type { ServerResponse } from 'node:http';
import type { RelayLog } from '@lattice/replication';

/** An HTTP API answer other than 2xx, with an optional machine-readable `code`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Writes a JSON answer (or an empty one) with `headers` (CORS, caching) on top. */
export function sendJson(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  status: number,
  body?: unknown,
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(body === undefined
      ? {}
      : {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(text),
        }),
  });
  res.end(body === undefined ? undefined : text);
}

/**
 * Answers a failed API request: an `HttpError` as itself, anything else as a
 * logged 500 that names nothing internal (or a destroyed socket when the
 * answer had already begun).
 */
export function answerApiError(
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  err: unknown,
  pathname: string,
  log: RelayLog,
): void {
  if (err instanceof HttpError) {
    sendJson(res, headers, err.status, {
      error: err.message,
      ...(err.code === undefined ? {} : { code: err.code }),
    });
    return;
  }
  log('http.error', { path: pathname, error: err instanceof Error ? err.message : String(err) });
  if (!res.headersSent) sendJson(res, headers, 500, { error: 'internal error' });
  else res.destroy();
}
