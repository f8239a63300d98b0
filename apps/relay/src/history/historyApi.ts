import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RelayLog } from '@lattice/replication';
import { type TokenService, WORKSPACE_ID } from '../auth/TokenService.ts';
import { answerApiError, HttpError, sendJson } from '../httpJson.ts';
import { bodyOfState } from './docState.ts';
import type { HistoryStore, VersionMeta } from './HistoryStore.ts';

/** What the history API needs; `tokens` is `null` with `--auth off`. */
export interface HistoryApiDeps {
  store: HistoryStore;
  tokens: TokenService | null;
  log: RelayLog;
}

const PREFIX = '/api/history/';
const NOTE_ID = /^[^/\s]{1,128}$/;

const HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization',
  'Access-Control-Max-Age': '600',
  'Cache-Control': 'no-store',
};

/** Is `pathname` a version history route (`/api/history/…`)? */
export function isHistoryApiPath(pathname: string): boolean {
  return pathname.startsWith(PREFIX);
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  sendJson(res, HEADERS, status, body);
}

/** A version as the API lists it (state vector and digest are the relay's business). */
function listed(meta: VersionMeta) {
  return {
    id: meta.id,
    at: meta.at,
    reason: meta.reason,
    authors: meta.authors,
    size: meta.size,
    title: meta.title,
  };
}

/**
 * The version history API (JSON; CORS `*`; errors `{ error }`). With auth
 * on, `Authorization: Bearer <token>` of the workspace, any role: history
 * is read-only here, a restore is an ordinary edit by the client.
 *
 * - `GET /api/history/<ws>/notes/<noteId>` → `{ versions: [...] }`, newest first
 * - `GET /api/history/<ws>/notes/<noteId>/<versionId>` → the version with `title` and `body`
 * - `GET /api/history/<ws>/purged` → `{ notes: [{ noteId, title, purgedAt, versionId }] }`
 */
export async function handleHistoryApi(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  deps: HistoryApiDeps,
): Promise<void> {
  if (req.method === 'OPTIONS') {
    send(res, 204);
    return;
  }
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
    await route(req, res, pathname, deps);
  } catch (err) {
    answerApiError(res, HEADERS, err, pathname, deps.log);
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  deps: HistoryApiDeps,
): Promise<void> {
  const parts = pathname
    .slice(PREFIX.length)
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw new HttpError(400, 'bad percent-encoding in the path');
      }
    });
  const [ws, kind, noteId, versionId, extra] = parts;
  if (ws === undefined || !WORKSPACE_ID.test(ws)) throw new HttpError(400, 'bad workspace id');
  await authorize(req, ws, deps.tokens);
  if (kind === 'purged' && noteId === undefined) {
    const notes = await deps.store.purged(ws);
    const listedNotes = [];
    for (const note of notes) {
      const newest = await deps.store.newest(`${ws}/${note.noteId}`);
      listedNotes.push({ ...note, versionId: newest?.id ?? null });
    }
    send(res, 200, { notes: listedNotes });
    return;
  }
  if (kind !== 'notes' || noteId === undefined || extra !== undefined) {
    throw new HttpError(404, 'no such history route');
  }
  if (!NOTE_ID.test(noteId)) throw new HttpError(400, 'bad note id');
  const docName = `${ws}/${noteId}`;
  if (versionId === undefined) {
    const versions = await deps.store.list(docName);
    send(res, 200, { versions: versions.reverse().map(listed) });
    return;
  }
  const version = await deps.store.get(docName, versionId);
  if (version === undefined) throw new HttpError(404, `no version ${versionId} of this note`);
  send(res, 200, { ...listed(version.meta), body: bodyOfState(version.state) });
}

/** Any valid token of workspace `ws` may read its history; none is needed with auth off. */
async function authorize(
  req: IncomingMessage,
  ws: string,
  tokens: TokenService | null,
): Promise<void> {
  if (tokens === null) return;
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new HttpError(401, 'an Authorization: Bearer <token> header is required');
  }
  const check = await tokens.verify(match[1] as string);
  if (!check.ok) throw new HttpError(check.problem === 'forbidden' ? 403 : 401, check.reason);
  if (check.access.workspaceId !== ws) {
    throw new HttpError(403, 'this token is for another workspace');
  }
}
