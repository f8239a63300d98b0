import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Access, CloseCode, type RelayCore, type RelayLog } from '@lattice/replication';
import { answerApiError, HttpError, sendJson } from '../httpJson.ts';
import { type AuthRegistry, type GrantRecord, RegistryWriteError } from './AuthRegistry.ts';
import { type TokenService, WORKSPACE_ID } from './TokenService.ts';

/** Request bodies larger than this get 413. */
export const MAX_API_BODY_BYTES = 16 * 1024;
/** Longest share label kept. */
const MAX_LABEL_CHARS = 200;
/** Longest share lifetime accepted (ten years). */
const MAX_EXPIRES_IN_S = 10 * 365 * 24 * 3600;

/** What the access API needs; `tokens`/`registry` are `null` with `--auth off`. */
export interface AuthApiDeps {
  core: RelayCore;
  tokens: TokenService | null;
  registry: AuthRegistry | null;
  log: RelayLog;
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  'Access-Control-Max-Age': '600',
};

const HEADERS = { ...CORS, 'Cache-Control': 'no-store' };

function send(res: ServerResponse, status: number, body?: unknown): void {
  sendJson(res, HEADERS, status, body);
}

/** Is `pathname` one of the access API's routes (`/api/auth`, `/api/workspaces…`)? */
export function isAuthApiPath(pathname: string): boolean {
  return (
    pathname === '/api/auth' ||
    pathname === '/api/workspaces' ||
    pathname.startsWith('/api/workspaces/')
  );
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_API_BODY_BYTES) throw new HttpError(413, 'request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_API_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function bearer(req: IncomingMessage): string {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new HttpError(401, 'an Authorization: Bearer <token> header is required', 'unauthorized');
  }
  return match[1]!;
}

type ClientAccess = Extract<Access, { kind: 'client' }>;

/**
 * The access API (see docs/SECURITY.md): claim a workspace, mint, list and
 * revoke share tokens, inspect a token. Answers every `isAuthApiPath` request
 * (never throws); JSON errors `{ error, code? }`.
 */
export async function handleAuthApi(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  deps: AuthApiDeps,
): Promise<void> {
  if (req.method === 'OPTIONS') {
    send(res, 204);
    return;
  }
  try {
    await route(req, res, pathname, deps);
  } catch (err) {
    if (err instanceof RegistryWriteError) {
      deps.log('auth.registry_write_failed', { error: err.message });
      send(res, 503, { error: err.message });
      return;
    }
    answerApiError(res, HEADERS, err, pathname, deps.log);
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  deps: AuthApiDeps,
): Promise<void> {
  const method = req.method ?? 'GET';
  const { tokens, registry } = deps;
  if (pathname === '/api/auth') {
    if (method !== 'GET') throw new HttpError(405, 'use GET');
    send(res, 200, { auth: tokens === null ? 'off' : 'on' });
    return;
  }
  if (pathname === '/api/workspaces') {
    if (method !== 'POST') throw new HttpError(405, 'use POST');
    const body = await readJson(req);
    const id = body.id === undefined ? crypto.randomUUID() : body.id;
    if (typeof id !== 'string' || !WORKSPACE_ID.test(id)) {
      throw new HttpError(400, 'id must match /^[A-Za-z0-9_-]{1,64}$/');
    }
    if (tokens === null || registry === null) {
      send(res, 200, { workspaceId: id, token: null, role: 'owner', grantId: null });
      return;
    }
    const grantId = crypto.randomUUID();
    const now = Date.now();
    const owner: GrantRecord = {
      ws: id,
      role: 'owner',
      label: 'owner',
      createdAt: now,
      expiresAt: null,
      relayId: tokens.relayId,
    };
    if (!(await registry.claim(id, { createdAt: now, ownerGrantId: grantId }, owner))) {
      throw new HttpError(409, `workspace ${id} is already claimed`);
    }
    const token = await tokens.mint({ workspaceId: id, role: 'owner', grantId, expiresAt: null });
    deps.log('auth.workspace_claimed', { workspace: id, grant: grantId });
    send(res, 201, { workspaceId: id, token, role: 'owner', grantId });
    return;
  }
  const parts = pathname.slice('/api/workspaces/'.length).split('/');
  const [wsId, sub, grantId, extra] = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new HttpError(400, 'bad percent-encoding in the path');
    }
  });
  if (wsId === undefined || !WORKSPACE_ID.test(wsId)) throw new HttpError(400, 'bad workspace id');
  if (tokens === null || registry === null) {
    throw new HttpError(404, 'access control is off on this relay: there are no tokens');
  }
  if (sub === 'access' && grantId === undefined) {
    if (method !== 'GET') throw new HttpError(405, 'use GET');
    const access = await checkToken(req, wsId, deps, false);
    send(res, 200, {
      workspaceId: access.workspaceId,
      role: access.role,
      grantId: access.grantId,
      expiresAt: access.expiresAt,
    });
    return;
  }
  if (sub !== 'shares' || extra !== undefined) throw new HttpError(404, 'no such API route');
  if (grantId === undefined) {
    if (method === 'POST') {
      await checkToken(req, wsId, deps, true);
      await createShare(req, res, wsId, tokens, registry, deps);
      return;
    }
    if (method === 'GET') {
      await checkToken(req, wsId, deps, true);
      const shares = registry
        .grantsOf(wsId)
        .filter(([, g]) => g.role !== 'owner')
        .map(([id, g]) => ({
          grantId: id,
          role: g.role,
          label: g.label,
          createdAt: g.createdAt,
          expiresAt: g.expiresAt,
          revokedAt: registry.revokedAt(id),
        }))
        .sort((a, b) => a.createdAt - b.createdAt);
      send(res, 200, { shares });
      return;
    }
    throw new HttpError(405, 'use GET or POST');
  }
  if (method !== 'DELETE') throw new HttpError(405, 'use DELETE');
  await checkToken(req, wsId, deps, true);
  const grant = registry.grant(grantId);
  if (grant === undefined || grant.ws !== wsId) {
    throw new HttpError(404, `no share ${grantId} in workspace ${wsId}`);
  }
  if (grant.role === 'owner') throw new HttpError(400, 'the owner grant cannot be revoked');
  await registry.revoke(grantId);
  // The registry's revocation listener closes them too; this makes it immediate here.
  const closed = deps.core.closeSessions(
    (a) => a.kind === 'client' && a.grantId === grantId,
    CloseCode.Forbidden,
    'access revoked',
  );
  deps.log('auth.share_revoked', { workspace: wsId, grant: grantId, closed });
  send(res, 204);
}

/** The request's bearer token, verified, for workspace `wsId` (owner only when `ownerOnly`). */
async function checkToken(
  req: IncomingMessage,
  wsId: string,
  deps: AuthApiDeps,
  ownerOnly: boolean,
): Promise<ClientAccess> {
  const check = await deps.tokens!.verify(bearer(req));
  if (!check.ok) {
    if (check.problem === 'expired') throw new HttpError(401, check.reason, 'token_expired');
    if (check.problem === 'unauthorized') throw new HttpError(401, check.reason, 'unauthorized');
    throw new HttpError(403, check.reason);
  }
  if (check.access.workspaceId !== wsId) {
    throw new HttpError(403, 'this token is for another workspace');
  }
  if (ownerOnly && check.access.role !== 'owner') {
    throw new HttpError(403, 'only the workspace owner may manage shares');
  }
  if (deps.registry!.workspace(wsId) === undefined) {
    throw new HttpError(404, `unknown workspace ${wsId}`);
  }
  return check.access;
}

async function createShare(
  req: IncomingMessage,
  res: ServerResponse,
  wsId: string,
  tokens: TokenService,
  registry: AuthRegistry,
  deps: AuthApiDeps,
): Promise<void> {
  const body = await readJson(req);
  const { role, expiresInSeconds, label } = body;
  if (role !== 'read' && role !== 'write')
    throw new HttpError(400, 'role must be "read" or "write"');
  if (
    expiresInSeconds !== undefined &&
    expiresInSeconds !== null &&
    !(
      typeof expiresInSeconds === 'number' &&
      Number.isInteger(expiresInSeconds) &&
      expiresInSeconds > 0 &&
      expiresInSeconds <= MAX_EXPIRES_IN_S
    )
  ) {
    throw new HttpError(
      400,
      `expiresInSeconds must be a whole number from 1 to ${MAX_EXPIRES_IN_S}`,
    );
  }
  if (label !== undefined && (typeof label !== 'string' || label.length > MAX_LABEL_CHARS)) {
    throw new HttpError(400, `label must be a string of at most ${MAX_LABEL_CHARS} characters`);
  }
  const now = Date.now();
  const expiresAt =
    typeof expiresInSeconds === 'number'
      ? (Math.floor(now / 1000) + expiresInSeconds) * 1000
      : null;
  const grantId = crypto.randomUUID();
  const grant: GrantRecord = {
    ws: wsId,
    role,
    label: label ?? '',
    createdAt: now,
    expiresAt,
    relayId: tokens.relayId,
  };
  await registry.addGrant(grantId, grant);
  const token = await tokens.mint({ workspaceId: wsId, role, grantId, expiresAt });
  deps.log('auth.share_created', { workspace: wsId, grant: grantId, role });
  send(res, 201, { grantId, token, role, label: grant.label, createdAt: now, expiresAt });
}
