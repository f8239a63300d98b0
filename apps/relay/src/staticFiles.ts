import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

const LONG_CACHE = 'public, max-age=31536000, immutable';

/** Sends a small plain-text response. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': bytes.length,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

function cacheControl(path: string, webDir: string): string {
  const name = relative(webDir, path).split(sep).join('/');
  // Vite writes content-hashed files (and only those) to assets/; anything
  // else keeps its name across builds and must be revalidated.
  return name.startsWith('assets/') ? LONG_CACHE : 'no-cache';
}

async function fileAt(path: string): Promise<{ size: number } | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? { size: info.size } : undefined;
  } catch {
    return undefined;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Serves the built web app from `webDir`: static files with their content
 * types, `index.html` for extension-less paths (SPA routes), 404 otherwise.
 * Never serves anything outside `webDir`, also through symlinks.
 */
export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  webDir: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  let root: string;
  try {
    root = await realpath(webDir);
  } catch {
    root = '';
  }
  // A build in progress (or a failed one) has no index.html yet: nothing to serve.
  if (root === '' || (await fileAt(join(root, 'index.html'))) === undefined) {
    sendText(res, 503, 'web app not built: run pnpm build\n');
    return;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    sendText(res, 400, 'bad path encoding\n');
    return;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) {
    sendText(res, 400, 'bad path\n');
    return;
  }
  const requested = join(root, decoded.endsWith('/') ? `${decoded}index.html` : decoded);
  if (!inside(root, requested)) {
    sendText(res, 404, 'not found\n');
    return;
  }
  let path = requested;
  let file = await fileAt(path);
  if (file === undefined && extname(decoded) === '') {
    path = join(root, 'index.html');
    file = await fileAt(path);
  }
  if (file === undefined) {
    sendText(res, 404, 'not found\n');
    return;
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    sendText(res, 404, 'not found\n');
    return;
  }
  if (!inside(root, real)) {
    sendText(res, 404, 'not found\n');
    return;
  }
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': file.size,
    'Cache-Control': cacheControl(real, root),
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(real);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
