import { describe, expect, it } from 'vitest';
import { AuthApi, AuthApiError, apiBaseOf } from './AuthApi.ts';

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from `routes` ("METHOD /path" → [status, body]) and records every call. */
function fakeFetch(routes: Record<string, [number, unknown]>) {
  const calls: Call[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    calls.push({
      method,
      url,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    const route = routes[`${method} ${new URL(url).pathname}`];
    if (route === undefined) throw new TypeError('Failed to fetch');
    const [status, body] = route;
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  }) as typeof fetch;
  return { fetchFn, calls };
}

const share = {
  grantId: 'g1',
  role: 'read',
  label: '',
  createdAt: 1000,
  expiresAt: null,
  revokedAt: null,
};

describe('apiBaseOf', () => {
  it('maps ws/wss sync URLs to http/https origins', () => {
    expect(apiBaseOf('ws://127.0.0.1:8080/sync')).toBe('http://127.0.0.1:8080');
    expect(apiBaseOf('wss://notes.example/sync?token=x')).toBe('https://notes.example');
    expect(() => apiBaseOf('http://x/sync')).toThrow(/ws:\/\//);
  });
});

describe('AuthApi', () => {
  it('claims only when the relay has auth on', async () => {
    const off = fakeFetch({ 'GET /api/auth': [200, { auth: 'off' }] });
    expect(await new AuthApi('http://r', off.fetchFn).claim('ws1')).toEqual({ kind: 'open' });
    expect(off.calls.map((c) => c.method)).toEqual(['GET']);

    const on = fakeFetch({
      'GET /api/auth': [200, { auth: 'on' }],
      'POST /api/workspaces': [
        201,
        { workspaceId: 'ws1', token: 'tok', role: 'owner', grantId: 'g' },
      ],
    });
    expect(await new AuthApi('http://r/', on.fetchFn).claim('ws1')).toEqual({
      kind: 'claimed',
      token: 'tok',
    });
    expect(on.calls[1]).toMatchObject({ url: 'http://r/api/workspaces', body: { id: 'ws1' } });
  });

  it('reports a taken id as 409, an unreachable relay as status 0', async () => {
    const taken = fakeFetch({
      'GET /api/auth': [200, { auth: 'on' }],
      'POST /api/workspaces': [409, { error: 'workspace already claimed' }],
    });
    const error = await new AuthApi('http://r', taken.fetchFn).claim('ws1').catch((e) => e);
    expect(error).toBeInstanceOf(AuthApiError);
    expect(error).toMatchObject({ status: 409, message: 'workspace already claimed' });

    const down = fakeFetch({});
    await expect(new AuthApi('http://r', down.fetchFn).authMode()).rejects.toMatchObject({
      status: 0,
    });
  });

  it('sends the owner token for shares and checks the answers', async () => {
    const api = fakeFetch({
      'POST /api/workspaces/ws1/shares': [201, { ...share, token: 'share-tok' }],
      'GET /api/workspaces/ws1/shares': [200, { shares: [share] }],
      'DELETE /api/workspaces/ws1/shares/g1': [204, null],
    });
    const client = new AuthApi('http://r', api.fetchFn);
    const created = await client.createShare('ws1', 'owner-tok', {
      role: 'read',
      expiresInSeconds: 3600,
    });
    expect(created).toEqual({ ...share, token: 'share-tok' });
    expect(api.calls[0]?.headers.authorization).toBe('Bearer owner-tok');
    expect(api.calls[0]?.body).toEqual({ role: 'read', expiresInSeconds: 3600 });
    expect(await client.listShares('ws1', 'owner-tok')).toEqual([share]);
    await client.revokeShare('ws1', 'owner-tok', 'g1');
    expect(api.calls[2]).toMatchObject({
      method: 'DELETE',
      headers: { authorization: 'Bearer owner-tok' },
    });

    const bad = fakeFetch({ 'GET /api/workspaces/ws1/shares': [200, { shares: [{ role: 'x' }] }] });
    await expect(new AuthApi('http://r', bad.fetchFn).listShares('ws1', 't')).rejects.toThrow(
      /unexpected answer/,
    );
    const denied = fakeFetch({
      'GET /api/workspaces/ws1/shares': [401, { error: 'token expired', code: 'token_expired' }],
    });
    await expect(
      new AuthApi('http://r', denied.fetchFn).listShares('ws1', 't'),
    ).rejects.toMatchObject({
      status: 401,
      code: 'token_expired',
    });
  });
});
