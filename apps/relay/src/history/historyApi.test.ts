import { AUTHORS_MAP, EntryKey, NOTES_MAP } from '@lattice/notes/schema';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { RunningRelay } from '../index.ts';
import { useTestRelays } from '../testing/relayFixture.ts';

const { start, defer, tempDir } = useTestRelays('lattice-history-api-', {
  history: { intervalMs: 100 },
});

async function get(
  relay: RunningRelay,
  path: string,
  token?: string,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${relay.url}${path}`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: await res.json() };
}

async function post(relay: RunningRelay, path: string, body: unknown, token?: string) {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { token: string };
}

/** A stock y-websocket client of `docName` (so the relay stores what it writes). */
function connect(relay: RunningRelay, docName: string, token?: string): Y.Doc {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${relay.url.replace(/^http/, 'ws')}/ws`, docName, doc, {
    disableBc: true,
    ...(token === undefined ? {} : { params: { token } }),
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  defer(() => provider.destroy());
  return doc;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('history API (real relay, real sockets)', () => {
  it('lists a note’s versions and serves their content to any token of the workspace', async () => {
    const relay = await start();
    const owner = (await post(relay, '/api/workspaces', { id: 'w1' })).token;
    const reader = (await post(relay, '/api/workspaces/w1/shares', { role: 'read' }, owner)).token;
    const stranger = (await post(relay, '/api/workspaces', { id: 'w2' })).token;

    const index = connect(relay, 'w1', owner);
    const note = connect(relay, 'w1/n1', owner);
    const entry = new Y.Map<unknown>();
    index.transact(() => {
      index.getMap(NOTES_MAP).set('n1', entry);
      entry.set(EntryKey.title, new Y.Text('Groceries'));
    });
    note.getMap(AUTHORS_MAP).set(String(note.clientID), 'Ada');
    note.getText('body').insert(0, 'milk, eggs');

    const list = await until(async () => {
      const res = await get(relay, '/api/history/w1/notes/n1', reader);
      return res.status === 200 && res.body.versions.length > 0 ? res.body : undefined;
    });
    const [version] = list.versions;
    expect(version).toMatchObject({ authors: ['Ada'], title: 'Groceries', reason: 'scheduled' });
    expect(version.size).toBeGreaterThan(0);
    expect(version.clocks).toBeUndefined();

    const content = await get(relay, `/api/history/w1/notes/n1/${version.id}`, reader);
    expect(content.status).toBe(200);
    expect(content.body).toMatchObject({ id: version.id, title: 'Groceries', body: 'milk, eggs' });

    expect((await get(relay, '/api/history/w1/notes/n1')).status).toBe(401);
    expect((await get(relay, '/api/history/w1/notes/n1', 'not-a-token')).status).toBe(401);
    expect((await get(relay, '/api/history/w1/notes/n1', stranger)).status).toBe(403);
    expect((await get(relay, '/api/history/w1/notes/n1/0000000000000000', reader)).status).toBe(
      404,
    );
    expect((await get(relay, '/api/history/w1/notes/n1/zzz', reader)).status).toBe(404);
    expect((await get(relay, '/api/history/w!1/notes/n1', reader)).status).toBe(400);
    expect((await get(relay, '/api/history/w1/elsewhere', reader)).status).toBe(404);
  });

  it('a purge over the wire leaves a version of the note and a purged entry; the content stays retrievable', async () => {
    const relay = await start({ auth: 'off', history: { intervalMs: 60_000 } });
    const index = connect(relay, 'w1');
    const note = connect(relay, 'w1/n1');
    const entry = new Y.Map<unknown>();
    index.transact(() => {
      index.getMap(NOTES_MAP).set('n1', entry);
      entry.set(EntryKey.title, new Y.Text('Diary'));
    });
    note.getText('body').insert(0, 'dear diary');
    // Both docs stored on the relay (a fresh client sees them) before the purge.
    const probe = connect(relay, 'w1/n1');
    await until(async () => (probe.getText('body').toString() === 'dear diary' ? true : undefined));
    const probeIndex = connect(relay, 'w1');
    await until(async () => (probeIndex.getMap(NOTES_MAP).has('n1') ? true : undefined));

    index.getMap(NOTES_MAP).delete('n1');
    const purged = await until(async () => {
      const res = await get(relay, '/api/history/w1/purged');
      return res.body.notes.length > 0 ? res.body.notes : undefined;
    });
    expect(purged).toMatchObject([{ noteId: 'n1', title: 'Diary' }]);
    const content = await get(relay, `/api/history/w1/notes/n1/${purged[0].versionId}`);
    expect(content.body).toMatchObject({ reason: 'purge', title: 'Diary', body: 'dear diary' });
  });

  it('versions changed docs at shutdown and serves them after a restart', async () => {
    const dataDir = await tempDir();
    const relay = await start({ auth: 'off', dataDir, history: { intervalMs: 60_000 } });
    const note = connect(relay, 'w1/n1');
    note.getText('body').insert(0, 'survives');
    const probe = connect(relay, 'w1/n1');
    await until(async () => (probe.getText('body').toString() === 'survives' ? true : undefined));
    expect((await get(relay, '/api/history/w1/notes/n1')).body.versions).toEqual([]);
    await relay.close();
    const again = await start({ auth: 'off', dataDir });
    const { body } = await get(again, '/api/history/w1/notes/n1');
    expect(body.versions).toMatchObject([{ reason: 'shutdown' }]);
    const content = await get(again, `/api/history/w1/notes/n1/${body.versions[0].id}`);
    expect(content.body.body).toBe('survives');
  });
});
