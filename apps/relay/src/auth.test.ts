import {
  CloseCode,
  DocErrorCode,
  encodeAwarenessMessage,
  encodeDoc,
  encodeHello,
  type Frame,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '@lattice/replication';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { RelayOptions, RunningRelay } from './index.ts';
import { MuxWsClient, type SocketClose } from './testing/index.ts';
import { useTestRelays } from './testing/relayFixture.ts';

const SECRET = new TextEncoder().encode('a-cluster-secret-of-at-least-32-bytes!!');
const WRONG_SECRET = new TextEncoder().encode('another-cluster-secret-32-bytes-long!!!');

/** Relays start with auth on unless a test says otherwise. */
const { start, tempDir, defer } = useTestRelays('lattice-auth-');

interface ApiResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
  body: any;
}

async function api(
  relay: RunningRelay,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; raw?: string } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  const res = await fetch(`${relay.url}${path}`, {
    method,
    headers,
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body === undefined
        ? {}
        : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

async function claim(relay: RunningRelay, id: string): Promise<string> {
  const res = await api(relay, 'POST', '/api/workspaces', { body: { id } });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

async function share(
  relay: RunningRelay,
  ws: string,
  owner: string,
  role: 'read' | 'write',
  expiresInSeconds?: number,
): Promise<{ token: string; grantId: string; expiresAt: number | null }> {
  const res = await api(relay, 'POST', `/api/workspaces/${ws}/shares`, {
    token: owner,
    body: {
      role,
      label: `${role} link`,
      ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    },
  });
  expect(res.status).toBe(201);
  return res.body;
}

function client(relay: RunningRelay, token?: string): MuxWsClient {
  const c = new MuxWsClient(relay.url, token === undefined ? {} : { token });
  defer(() => c.close());
  return c;
}

/** A raw `/ws/<doc>` socket; resolves with how the relay closed it. */
function yws(
  relay: RunningRelay,
  docName: string,
  token?: string,
): { ws: WebSocket; closed: Promise<SocketClose> } {
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(
    `${relay.url.replace(/^http/, 'ws')}/ws/${encodeURIComponent(docName)}${query}`,
  );
  defer(() => ws.terminate());
  const closed = new Promise<SocketClose>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  ws.on('error', () => {});
  return { ws, closed };
}

function helloOf(c: MuxWsClient): Frame | undefined {
  return c.frames.find((f) => f.type === FrameType.Hello);
}

function docErrors(c: MuxWsClient, docName: string): number[] {
  return c.frames.flatMap((f) =>
    f.type === FrameType.DocError && f.docName === docName ? [f.code] : [],
  );
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes `text` through a fresh owner/write connection and waits for the durable ack. */
async function write(
  relay: RunningRelay,
  token: string,
  docName: string,
  text: string,
): Promise<void> {
  const c = client(relay, token);
  await c.hello();
  const doc = c.sync(docName);
  await c.waitFor(() => (c.acked(docName) >= 1 ? true : undefined));
  doc.getText('body').insert(0, text);
  await c.waitFor(() => (c.acked(docName) >= c.sent(docName) ? true : undefined));
  await c.close();
}

describe('access API', () => {
  it('reports whether auth is on', async () => {
    expect((await api(await start(), 'GET', '/api/auth')).body).toEqual({ auth: 'on' });
    expect((await api(await start({ auth: 'off' }), 'GET', '/api/auth')).body).toEqual({
      auth: 'off',
    });
  });

  it('claims a workspace once, returning an owner token; a second claim gets 409', async () => {
    const relay = await start();
    const res = await api(relay, 'POST', '/api/workspaces', { body: { id: 'w1' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ workspaceId: 'w1', role: 'owner' });
    expect(typeof res.body.grantId).toBe('string');
    expect(decodeProtectedHeader(res.body.token).kid).toBeTypeOf('string');
    const again = await api(relay, 'POST', '/api/workspaces', { body: { id: 'w1' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already claimed/);
    const access = await api(relay, 'GET', '/api/workspaces/w1/access', { token: res.body.token });
    expect(access.body).toEqual({
      workspaceId: 'w1',
      role: 'owner',
      grantId: res.body.grantId,
      expiresAt: null,
    });
  });

  it('refuses bad ids, bad bodies and oversized bodies with clear errors; answers CORS preflight', async () => {
    const relay = await start();
    expect((await api(relay, 'POST', '/api/workspaces', { body: { id: 'no/slash' } })).status).toBe(
      400,
    );
    expect((await api(relay, 'POST', '/api/workspaces', { body: { id: '~lattice' } })).status).toBe(
      400,
    );
    expect((await api(relay, 'POST', '/api/workspaces', { raw: '{nope' })).body.error).toMatch(
      /JSON/,
    );
    expect(
      (
        await api(relay, 'POST', '/api/workspaces', {
          raw: JSON.stringify({ id: 'x'.repeat(20_000) }),
        })
      ).status,
    ).toBe(413);
    const pre = await fetch(`${relay.url}/api/workspaces/w1/shares`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
  });

  it('with auth off, claims succeed without tokens', async () => {
    const relay = await start({ auth: 'off' });
    const res = await api(relay, 'POST', '/api/workspaces', { body: { id: 'w1' } });
    expect(res).toEqual({
      status: 200,
      body: { workspaceId: 'w1', token: null, role: 'owner', grantId: null },
    });
  });

  it('lets only the owner mint and list shares', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const other = await claim(relay, 'w2');
    const read = await share(relay, 'w1', owner, 'read', 3600);
    expect(read).toMatchObject({ role: 'read', label: 'read link' });
    expect(
      (
        await api(relay, 'POST', '/api/workspaces/w1/shares', {
          token: read.token,
          body: { role: 'write' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(relay, 'POST', '/api/workspaces/w1/shares', {
          token: other,
          body: { role: 'write' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await api(relay, 'POST', '/api/workspaces/w1/shares', { body: { role: 'write' } })).body
        .code,
    ).toBe('unauthorized');
    expect(
      (
        await api(relay, 'POST', '/api/workspaces/w1/shares', {
          token: owner,
          body: { role: 'admin' },
        })
      ).status,
    ).toBe(400);
    const list = await api(relay, 'GET', '/api/workspaces/w1/shares', { token: owner });
    expect(list.body.shares).toEqual([
      expect.objectContaining({
        grantId: read.grantId,
        role: 'read',
        label: 'read link',
        revokedAt: null,
      }),
    ]);
    expect(list.body.shares[0].expiresAt).toBeGreaterThan(Date.now());
  });
});

describe('WebSocket access', () => {
  it('tells a client its role in the Hello; write and owner tokens write', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const writer = await share(relay, 'w1', owner, 'write');
    const c = client(relay, writer.token);
    await c.hello();
    expect(helloOf(c)).toMatchObject({ hello: { access: 'write' } });
    await write(relay, writer.token, 'w1/n1', 'by writer');
    const o = client(relay, owner);
    await o.hello();
    expect(helloOf(o)).toMatchObject({ hello: { access: 'owner' } });
    const doc = o.sync('w1/n1');
    await o.waitFor(() => (doc.getText('body').toString() === 'by writer' ? true : undefined));
  });

  it('read tokens receive the doc and awareness, but their updates are dropped, never stored, and reported once', async () => {
    const dataDir = await tempDir();
    let relay = await start({ dataDir });
    const owner = await claim(relay, 'w1');
    const reader = await share(relay, 'w1', owner, 'read');
    await write(relay, owner, 'w1/n1', 'shared');

    const o = client(relay, owner);
    await o.hello();
    const ownerDoc = o.sync('w1/n1');
    await o.waitFor(() => (ownerDoc.getText('body').toString() === 'shared' ? true : undefined));
    // The owner's presence reaches the reader.
    const aw = new Awareness(new Y.Doc());
    aw.setLocalState({ name: 'owner' });
    await o.sendRaw(
      encodeDoc('w1/n1', encodeAwarenessMessage(encodeAwarenessUpdate(aw, [aw.clientID]))),
    );

    const r = client(relay, reader.token);
    await r.hello();
    expect(helloOf(r)).toMatchObject({ hello: { access: 'read' } });
    const readerDoc = r.sync('w1/n1');
    await r.waitFor(() => (readerDoc.getText('body').toString() === 'shared' ? true : undefined));
    await r.waitFor(() =>
      r.frames.some(
        (f) =>
          f.type === FrameType.Docs &&
          f.messages.some((m) => m.docName === 'w1/n1' && m.message[0] === 1),
      )
        ? true
        : undefined,
    );
    readerDoc.getText('body').insert(0, 'vandal ');
    readerDoc.getText('body').insert(0, 'again ');
    await r.waitFor(() =>
      docErrors(r, 'w1/n1').includes(DocErrorCode.ReadOnly) ? true : undefined,
    );
    // A later write by the owner arrives after the reader's would have: the order proves it was dropped.
    ownerDoc.getText('body').insert(ownerDoc.getText('body').length, '!');
    await r.waitFor(() => (readerDoc.getText('body').toString().endsWith('!') ? true : undefined));
    expect(ownerDoc.getText('body').toString()).toBe('shared!');
    expect(docErrors(r, 'w1/n1')).toEqual([DocErrorCode.ReadOnly]);
    // Never acked: the reader's update numbers stay unacknowledged.
    expect(r.acked('w1/n1')).toBeLessThan(r.sent('w1/n1'));

    await relay.close();
    relay = await start({ dataDir });
    const fresh = client(relay, owner);
    await fresh.hello();
    const stored = fresh.sync('w1/n1');
    await fresh.waitFor(() => (fresh.acked('w1/n1') >= 1 ? true : undefined));
    expect(stored.getText('body').toString()).toBe('shared!');
  });

  it("drops a read-only y-websocket client's updates too (stock WebsocketProvider with params)", async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const reader = await share(relay, 'w1', owner, 'read');
    await write(relay, owner, 'w1', 'index');
    const doc = new Y.Doc();
    const p = new WebsocketProvider(`${relay.url.replace(/^http/, 'ws')}/ws`, 'w1', doc, {
      disableBc: true,
      params: { token: reader.token },
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    defer(() => p.destroy());
    await until(() => doc.getText('body').toString() === 'index');
    doc.getText('body').insert(0, 'vandal ');
    await write(relay, owner, 'w1', 'more ');
    const o = client(relay, owner);
    await o.hello();
    const check = o.sync('w1');
    await o.waitFor(() => (o.acked('w1') >= 1 ? true : undefined));
    expect(check.getText('body').toString()).toBe('more index');
  });

  it('refuses docs of other workspaces and system docs', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const c = client(relay, owner);
    await c.hello();
    c.sync('w2/n1');
    c.sync('~lattice/auth');
    c.sync('w1x');
    await c.waitFor(() => (docErrors(c, 'w1x').length > 0 ? true : undefined));
    expect(docErrors(c, 'w2/n1')).toEqual([DocErrorCode.Forbidden]);
    expect(docErrors(c, '~lattice/auth')).toEqual([DocErrorCode.Forbidden]);
    expect(docErrors(c, 'w1x')).toEqual([DocErrorCode.Forbidden]);
    expect((await yws(relay, 'w2', owner).closed).code).toBe(CloseCode.Forbidden);
  });

  it('keeps ~lattice/auth from clients even with auth off', async () => {
    const relay = await start({ auth: 'off' });
    const c = client(relay);
    await c.hello();
    expect(helloOf(c)).toMatchObject({ hello: { access: 'full' } });
    c.sync('~lattice/auth');
    await c.waitFor(() => (docErrors(c, '~lattice/auth').length > 0 ? true : undefined));
    expect(docErrors(c, '~lattice/auth')).toEqual([DocErrorCode.Forbidden]);
    expect((await yws(relay, '~lattice/auth').closed).code).toBe(CloseCode.Forbidden);
  });

  it('closes 4401 without a token or with a bad signature, on /sync and /ws', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    expect(await client(relay).closed).toMatchObject({ code: CloseCode.Unauthorized });
    const [head, payload, sig] = owner.split('.') as [string, string, string];
    const forged = `${head}.${payload}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(await client(relay, forged).closed).toMatchObject({ code: CloseCode.Unauthorized });
    expect(await client(relay, 'not-a-jwt').closed).toMatchObject({ code: CloseCode.Unauthorized });
    expect((await yws(relay, 'w1').closed).code).toBe(CloseCode.Unauthorized);
    // A token from another relay's key ring is unknown here.
    const elsewhere = await claim(await start(), 'w1');
    expect(await client(relay, elsewhere).closed).toMatchObject({ code: CloseCode.Unauthorized });
  });

  it('closes 4419 for an expired token (HTTP 401 token_expired) and closes a live session when its token expires', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const short = await share(relay, 'w1', owner, 'write', 1);
    const c = client(relay, short.token);
    await c.hello();
    const doc = c.sync('w1/n1');
    doc.getText('body').insert(0, 'x');
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.TokenExpired);
    expect(Date.now()).toBeGreaterThanOrEqual(short.expiresAt ?? 0);
    expect(await client(relay, short.token).closed).toMatchObject({ code: CloseCode.TokenExpired });
    const res = await api(relay, 'GET', '/api/workspaces/w1/access', { token: short.token });
    expect(res).toMatchObject({ status: 401, body: { code: 'token_expired' } });
  });

  it('revocation closes live /sync and /ws sessions at once and the token stops working', async () => {
    const relay = await start();
    const owner = await claim(relay, 'w1');
    const writer = await share(relay, 'w1', owner, 'write');
    const keep = await share(relay, 'w1', owner, 'write');
    const c = client(relay, writer.token);
    await c.hello();
    c.sync('w1/n1');
    await c.waitFor(() => (c.acked('w1/n1') >= 1 ? true : undefined));
    const kept = client(relay, keep.token);
    await kept.hello();
    const raw = yws(relay, 'w1', writer.token);
    await new Promise((resolve) => raw.ws.once('open', resolve));
    const res = await api(relay, 'DELETE', `/api/workspaces/w1/shares/${writer.grantId}`, {
      token: owner,
    });
    expect(res.status).toBe(204);
    // Closed by the time the DELETE answered (the close frame is already on its way).
    expect(await c.closed).toEqual({ code: CloseCode.Forbidden, reason: 'access revoked' });
    expect((await raw.closed).code).toBe(CloseCode.Forbidden);
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    expect(await client(relay, writer.token).closed).toMatchObject({ code: CloseCode.Forbidden });
    expect(
      (await api(relay, 'GET', '/api/workspaces/w1/access', { token: writer.token })).status,
    ).toBe(403);
    const list = await api(relay, 'GET', '/api/workspaces/w1/shares', { token: owner });
    const revoked = list.body.shares.find((s: { grantId: string }) => s.grantId === writer.grantId);
    expect(revoked.revokedAt).toBeTypeOf('number');
  });
});

describe('peer relays and keys', () => {
  type Event = { event: string; fields: Record<string, unknown> };
  function recorder(): { events: Event[]; log: RelayOptions['log'] } {
    const events: Event[] = [];
    return { events, log: (event, fields) => events.push({ event, fields }) };
  }
  const wsUrl = (relay: RunningRelay) => relay.url.replace(/^http/, 'ws');
  const connected = (relay: RunningRelay) =>
    relay.core.clusterInfo().peers.some((p) => p.state === 'connected');

  it('links relays sharing the cluster secret; a revocation on one closes sessions on the other', async () => {
    const a = await start({ clusterSecret: SECRET });
    const b = await start({ clusterSecret: SECRET, peers: [wsUrl(a)] });
    await until(() => connected(a) && connected(b), 10_000);
    const owner = await claim(a, 'w1');
    const writer = await share(a, 'w1', owner, 'write');
    // B learns A's key and the grant by gossip; until then the token is unknown there.
    let c: MuxWsClient;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const attempt = client(b, writer.token);
      const outcome = await Promise.race([
        attempt.hello().then(() => 'open' as const),
        attempt.closed.then(() => 'closed' as const),
      ]);
      if (outcome === 'open') {
        c = attempt;
        break;
      }
      if (Date.now() > deadline) throw new Error('B never accepted the token');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(helloOf(c)).toMatchObject({ hello: { access: 'write' } });
    expect(
      (await api(a, 'DELETE', `/api/workspaces/w1/shares/${writer.grantId}`, { token: owner }))
        .status,
    ).toBe(204);
    expect(await c.closed).toEqual({ code: CloseCode.Forbidden, reason: 'access revoked' });
    // The claim reached B too.
    expect((await api(b, 'POST', '/api/workspaces', { body: { id: 'w1' } })).status).toBe(409);
  });

  it('refuses peers without the secret (4401 with auth on, 4403 on a Hello without peer access) or with a wrong one', async () => {
    const rec = recorder();
    const a = await start({ clusterSecret: SECRET, log: rec.log });
    // No token at all.
    const anon = client(a);
    await anon.sendRaw(encodePeerHello());
    expect((await anon.closed).code).toBe(CloseCode.Unauthorized);
    // A client token is not peer access.
    const owner = await claim(a, 'w1');
    const posing = client(a, owner);
    await posing.sendRaw(encodePeerHello());
    expect((await posing.closed).code).toBe(CloseCode.Forbidden);
    // A relay with the wrong secret is refused and never links.
    const wrong = await start({ clusterSecret: WRONG_SECRET, peers: [wsUrl(a)] });
    await until(() =>
      rec.events.some(
        (e) => e.event === 'auth.refused' && e.fields.code === CloseCode.Unauthorized,
      ),
    );
    expect(connected(wrong)).toBe(false);
    // With auth off but a secret set, an unauthenticated peer Hello gets 4403.
    const off = await start({ auth: 'off', clusterSecret: SECRET });
    const stranger = client(off);
    await stranger.sendRaw(encodePeerHello());
    expect((await stranger.closed).code).toBe(CloseCode.Forbidden);
  });

  it('a dialing relay refuses a peer that cannot prove the secret (mutual auth)', async () => {
    const impostor = await start({ auth: 'off' });
    const rec = recorder();
    await start({ clusterSecret: SECRET, peers: [wsUrl(impostor)], log: rec.log });
    await until(() =>
      rec.events.some((e) => e.event === 'peer.close' && e.fields.code === CloseCode.Unauthorized),
    );
    expect(connected(impostor)).toBe(false);
  });

  it('--rotate-key keeps old tokens valid and signs new ones with the new key; --retire-key refuses old ones', async () => {
    const dataDir = await tempDir();
    let relay = await start({ dataDir });
    const oldOwner = await claim(relay, 'w1');
    const oldKid = decodeProtectedHeader(oldOwner).kid;
    await relay.close();

    relay = await start({ dataDir, rotateKey: true });
    const newOwner = await claim(relay, 'w2');
    const newKid = decodeProtectedHeader(newOwner).kid;
    expect(newKid).not.toBe(oldKid);
    const old = client(relay, oldOwner);
    await old.hello();
    expect(helloOf(old)).toMatchObject({ hello: { access: 'owner' } });
    await old.close();
    // A restart without flags keeps signing with the rotated key.
    await relay.close();
    relay = await start({ dataDir });
    expect(decodeProtectedHeader(await claim(relay, 'w3')).kid).toBe(newKid);
    await relay.close();

    relay = await start({ dataDir, retireKeys: [oldKid as string] });
    expect(await client(relay, oldOwner).closed).toMatchObject({ code: CloseCode.Unauthorized });
    expect((await api(relay, 'GET', '/api/workspaces/w1/access', { token: oldOwner })).status).toBe(
      401,
    );
    const fresh = client(relay, newOwner);
    await fresh.hello();
    expect(helloOf(fresh)).toMatchObject({ hello: { access: 'owner' } });
    await relay.close();
    await expect(start({ dataDir, retireKeys: ['no-such-key'] })).rejects.toThrow(/no-such-key/);
  });
});

function encodePeerHello(): Uint8Array {
  return encodeHello({
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    role: 'peer',
    id: 'intruder',
  });
}
