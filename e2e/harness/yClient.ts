import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** A stock y-websocket `WebsocketProvider` in Node with its doc (no Lattice extras: a third-party client). */
export interface YClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** The doc's `body` text, where Lattice keeps a note's Markdown. */
  body: Y.Text;
  destroy(): void;
}

/**
 * Connects a stock provider to the relay (or proxy) at `origin`
 * (`http://host:port`; the doc socket is `ws://host:port/ws/<docName>`) and
 * resolves once its first sync is done.
 */
export async function connectYClient(
  origin: string,
  docName: string,
  timeoutMs = 15_000,
): Promise<YClient> {
  if (!/^https?:\/\//.test(origin)) throw new Error(`origin must be http(s)://…, got "${origin}"`);
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${origin.replace(/^http/, 'ws')}/ws`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    // Awareness is not what these tests look at; the provider still answers peers.
    disableBc: true,
  });
  const client: YClient = {
    doc,
    provider,
    body: doc.getText('body'),
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      if (provider.synced) {
        resolve();
        return;
      }
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `y-websocket client for ${docName} at ${origin} not synced in ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const onSync = (synced: boolean) => {
        if (!synced) return;
        clearTimeout(timer);
        provider.off('sync', onSync);
        resolve();
      };
      provider.on('sync', onSync);
    });
  } catch (err) {
    client.destroy();
    throw err;
  }
  return client;
}

/** Whether two docs hold the same state: state vectors and delete sets alike. */
export function sameState(a: Y.Doc, b: Y.Doc): boolean {
  const sa = Y.encodeSnapshot(Y.snapshot(a));
  const sb = Y.encodeSnapshot(Y.snapshot(b));
  return sa.length === sb.length && sa.every((byte, i) => byte === sb[i]);
}
