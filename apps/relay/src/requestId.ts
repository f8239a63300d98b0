import type { IncomingMessage } from 'node:http';

/** A client-supplied `x-request-id` is used only if it looks like an id (no spaces, quotes or control bytes to forge log lines with). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const ids = new WeakMap<IncomingMessage, string>();

/**
 * The request id of an HTTP request or WebSocket upgrade: its `x-request-id`
 * header when that is a sane token (so a proxy's id carries through), else a
 * random one. Stable per request: every caller gets the same id.
 */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (id === undefined) {
    const header = req.headers['x-request-id'];
    id = typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomRequestId();
    ids.set(req, id);
  }
  return id;
}

function randomRequestId(): string {
  // 16 hex digits: unique enough to grep for, short enough to read.
  return globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 16);
}
