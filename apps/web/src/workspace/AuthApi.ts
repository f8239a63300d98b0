/**
 * The relay's access HTTP API (`/api/auth`, `/api/workspaces…`, see
 * docs/SECURITY.md) as the web app uses it. Every answer is checked field by
 * field; a failure is an `AuthApiError` carrying the HTTP status (0: the
 * relay could not be reached) and the relay's message.
 */

/** A share link's role. */
export type ShareRole = 'read' | 'write';

/** One share as the owner sees it (tokens are not stored on the relay, so not listed). */
export interface ShareInfo {
  grantId: string;
  role: ShareRole;
  label: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

/** A share just minted: its token is known only now. */
export interface CreatedShare extends ShareInfo {
  token: string;
}

/** What a claim came to: an owner token, or nothing to claim (the relay runs with `--auth off`). */
export type ClaimResult = { kind: 'claimed'; token: string } | { kind: 'open' };

/** A request to the relay failed: `status` 0 means it was not reached at all (offline). */
export class AuthApiError extends Error {
  override name = 'AuthApiError';
  readonly status: number;
  /** The relay's `code` (`unauthorized` / `token_expired`) on a 401. */
  readonly code: string | null;

  constructor(status: number, message: string, code: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `ws(s)://host[:port]/…` → `http(s)://host[:port]`: where a relay's HTTP API lives. */
export function apiBaseOf(syncUrl: string): string {
  const url = new URL(syncUrl);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`not a ws:// or wss:// URL: ${syncUrl}`);
  }
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** Talks to one relay's access API (the relay that served the app, or the first `?relay=`). */
export class AuthApi {
  readonly baseUrl: string;
  readonly #fetch: typeof globalThis.fetch;

  constructor(
    baseUrl: string,
    fetchFn: typeof globalThis.fetch = globalThis.fetch.bind(globalThis),
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#fetch = fetchFn;
  }

  /** Whether the relay checks tokens. */
  async authMode(): Promise<'on' | 'off'> {
    const body = await this.#request('GET', '/api/auth');
    const auth = field(body, 'auth');
    if (auth !== 'on' && auth !== 'off') throw malformed('auth must be "on" or "off"');
    return auth;
  }

  /**
   * Claims workspace `id` (created on this device) and returns its owner
   * token. Asks `/api/auth` first: a relay without auth has nothing to claim.
   * 409: someone else claimed that id.
   */
  async claim(id: string): Promise<ClaimResult> {
    if ((await this.authMode()) === 'off') return { kind: 'open' };
    const body = await this.#request('POST', '/api/workspaces', { id });
    const token = field(body, 'token');
    if (token === null) return { kind: 'open' };
    if (typeof token !== 'string' || token === '') throw malformed('token must be a string');
    return { kind: 'claimed', token };
  }

  async createShare(
    workspaceId: string,
    ownerToken: string,
    share: { role: ShareRole; expiresInSeconds?: number; label?: string },
  ): Promise<CreatedShare> {
    const body = await this.#request('POST', `${sharesPath(workspaceId)}`, share, ownerToken);
    const token = field(body, 'token');
    if (typeof token !== 'string' || token === '') throw malformed('token must be a string');
    return { ...toShare(body), token };
  }

  async listShares(workspaceId: string, ownerToken: string): Promise<ShareInfo[]> {
    const body = await this.#request('GET', sharesPath(workspaceId), undefined, ownerToken);
    const shares = field(body, 'shares');
    if (!Array.isArray(shares)) throw malformed('shares must be an array');
    return shares.map(toShare);
  }

  async revokeShare(workspaceId: string, ownerToken: string, grantId: string): Promise<void> {
    await this.#request(
      'DELETE',
      `${sharesPath(workspaceId)}/${encodeURIComponent(grantId)}`,
      undefined,
      ownerToken,
    );
  }

  async #request(method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        cache: 'no-store',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new AuthApiError(
        0,
        `The relay could not be reached (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (response.status === 204) return null;
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      // An error page or proxy answer: described by its status below.
    }
    if (!response.ok) {
      const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
        string,
        unknown
      >;
      const message =
        typeof record.error === 'string'
          ? record.error
          : `the relay answered HTTP ${response.status}`;
      throw new AuthApiError(
        response.status,
        message,
        typeof record.code === 'string' ? record.code : null,
      );
    }
    if (typeof parsed !== 'object' || parsed === null) throw malformed('not a JSON object');
    return parsed;
  }
}

function sharesPath(workspaceId: string): string {
  return `/api/workspaces/${encodeURIComponent(workspaceId)}/shares`;
}

function malformed(what: string): AuthApiError {
  return new AuthApiError(502, `unexpected answer from the relay: ${what}`);
}

function field(body: unknown, name: string): unknown {
  if (typeof body !== 'object' || body === null) throw malformed('not a JSON object');
  return (body as Record<string, unknown>)[name];
}

function nullableTime(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw malformed(`${what} must be a time`);
  return value;
}

function toShare(item: unknown): ShareInfo {
  const grantId = field(item, 'grantId');
  const role = field(item, 'role');
  const label = field(item, 'label');
  const createdAt = field(item, 'createdAt');
  if (typeof grantId !== 'string' || grantId === '') throw malformed('grantId must be a string');
  if (role !== 'read' && role !== 'write') throw malformed('role must be read or write');
  if (typeof createdAt !== 'number') throw malformed('createdAt must be a time');
  return {
    grantId,
    role,
    label: typeof label === 'string' ? label : '',
    createdAt,
    expiresAt: nullableTime(field(item, 'expiresAt'), 'expiresAt'),
    revokedAt: nullableTime(field(item, 'revokedAt'), 'revokedAt'),
  };
}
