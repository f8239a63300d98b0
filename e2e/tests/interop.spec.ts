import { CloseCode } from '@lattice/replication';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import {
  bodyOf,
  createNote,
  editorText,
  expectSynced,
  openApp,
  openNoteByTitle,
  workspaceIdOf,
} from '../harness/app.ts';
import { expect, test } from '../harness/fixtures.ts';

test('a stock y-websocket provider and the browser edit the same note', async ({
  browser,
  relay,
}) => {
  const device = await browser.newContext();
  const page = await openApp(device, relay.url);
  const id = await createNote(page, 'Interop', 'hello from the browser');
  await expectSynced(page);

  const doc = new Y.Doc();
  const docName = `${workspaceIdOf(page)}/${id}`;
  const provider = new WebsocketProvider(`ws://127.0.0.1:${relay.port}/ws`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  try {
    await new Promise<void>((resolve) => {
      if (provider.synced) resolve();
      else provider.once('sync', (synced: boolean) => synced && resolve());
    });
    const body = doc.getText('body');
    expect(body.toString()).toBe('hello from the browser');

    body.insert(body.length, ' and from node');
    await expect.poll(() => editorText(page)).toContain('hello from the browser and from node');
    expect(await bodyOf(page, id)).toBe('hello from the browser and from node');

    // Awareness crosses the two kinds of connection too: the browser draws the
    // Node peer's caret labelled with its name.
    await openNoteByTitle(page, 'Interop');
    const at = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(body, 5));
    provider.awareness.setLocalState({
      user: { name: 'node-bot', color: '#ff0000', colorLight: '#ff000033' },
      cursor: { anchor: at, head: at },
    });
    await expect
      .poll(() =>
        page.evaluate(() => document.querySelector('[data-testid=editor]')?.textContent ?? ''),
      )
      .toContain('node-bot');
  } finally {
    provider.destroy();
    doc.destroy();
    await device.close();
  }
});

test('bad input gets a clear answer and the relay keeps serving', async ({ relay }) => {
  const upgradeStatus = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/nope/room`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
  expect(upgradeStatus).toBe(404);

  const plain = await fetch(`${relay.url}/ws/some-room`);
  expect(plain.status).toBe(426);

  // A healthy y-websocket peer in another room while a bad client misbehaves.
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${relay.port}/ws`, 'healthy/room', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  await new Promise<void>((r) => provider.once('sync', () => r()));

  const close = await new Promise<{ code: number; reason: string }>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/sync`);
    ws.on('open', () => ws.send(Buffer.from([0xff, 0xff, 0xff])));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  expect(close.code).toBe(CloseCode.MalformedFrame);
  expect(close.reason.length).toBeGreaterThan(0);

  doc.getText('t').insert(0, 'still here');
  const other = new Y.Doc();
  const second = new WebsocketProvider(`ws://127.0.0.1:${relay.port}/ws`, 'healthy/room', other, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  await expect.poll(() => other.getText('t').toString()).toBe('still here');
  const health = await (await fetch(`${relay.url}/healthz`)).json();
  expect(health.ok).toBe(true);
  provider.destroy();
  second.destroy();
});
