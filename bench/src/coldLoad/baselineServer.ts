import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Serves the comparison page (`page/baseline.ts`, bundled with y-indexeddb and
 * yjs by esbuild) and the generated state files, on 127.0.0.1:0. It only
 * hands out static bytes while the browser measures, so it stays in the
 * benchmark's process.
 */
export async function startBaselineServer(
  stateDir: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const entry = fileURLToPath(new URL('./page/baseline.ts', import.meta.url));
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
  });
  const script = bundle.outputFiles[0]?.contents;
  if (script === undefined) throw new Error('coldload: esbuild produced no bundle');
  const html =
    '<!doctype html><meta charset="utf-8"><title>cold-load baseline</title><script type="module" src="/baseline.js"></script>';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string | Uint8Array) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/') return send(200, 'text/html', html);
    if (path === '/baseline.js') return send(200, 'text/javascript', script);
    const file = /^\/state\/((?:docs|one)-\d+\.bin)$/.exec(path)?.[1];
    if (file === undefined) return send(404, 'text/plain', 'not found');
    readFile(join(stateDir, file)).then(
      (body) => send(200, 'application/octet-stream', body),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
