import { type Access, CloseCode, OPEN_ACCESS, type RejectReason } from '@lattice/replication';
import { decodeJwt } from 'jose';
import { type ClusterAuth, PEER_AUDIENCE } from './ClusterAuth.ts';
import type { TokenProblem, TokenService } from './TokenService.ts';

/** The outcome of authenticating an upgrade request. */
export type UpgradeAuth =
  | { ok: true; access: Access }
  | { ok: false; code: number; reason: string; rejected: RejectReason };

/** Close code and metrics label for each way a token can fail. */
export const TOKEN_FAILURE: Record<TokenProblem, { code: number; rejected: RejectReason }> = {
  unauthorized: { code: CloseCode.Unauthorized, rejected: 'unauthorized' },
  expired: { code: CloseCode.TokenExpired, rejected: 'token_expired' },
  forbidden: { code: CloseCode.Forbidden, rejected: 'forbidden' },
};

/** The `token` query parameter of a request URL (raw path + query), or `null`. */
export function tokenOf(requestUrl: string | undefined): string | null {
  const query = (requestUrl ?? '').split('?')[1];
  if (query === undefined) return null;
  const token = new URLSearchParams(query).get('token');
  return token === null || token === '' ? null : token;
}

function isPeerToken(token: string): boolean {
  try {
    const aud = decodeJwt(token).aud;
    return aud === PEER_AUDIENCE || (Array.isArray(aud) && aud.includes(PEER_AUDIENCE));
  } catch {
    return false;
  }
}

/**
 * Who is connecting: a peer relay (peer token signed with the cluster
 * secret), a client (workspace token), or anyone (`tokens === null`: auth
 * off). Peer tokens are recognised by their audience before the signature is
 * checked, so a client token is never tried against the cluster secret.
 */
export async function authenticate(
  token: string | null,
  tokens: TokenService | null,
  cluster: ClusterAuth | null,
): Promise<UpgradeAuth> {
  if (token !== null && isPeerToken(token)) {
    // Without a secret, auth off means anyone may peer; auth on means nobody may.
    if (cluster === null && tokens === null) return { ok: true, access: OPEN_ACCESS };
    if (cluster === null) {
      return {
        ok: false,
        code: CloseCode.Forbidden,
        reason: 'this relay has no cluster secret',
        rejected: 'forbidden',
      };
    }
    if (await cluster.verify(token)) return { ok: true, access: { kind: 'peer' } };
    return {
      ok: false,
      code: CloseCode.Unauthorized,
      reason: 'invalid peer token',
      rejected: 'unauthorized',
    };
  }
  if (tokens === null) return { ok: true, access: OPEN_ACCESS };
  if (token === null) {
    return {
      ok: false,
      code: CloseCode.Unauthorized,
      reason: 'a token is required',
      rejected: 'unauthorized',
    };
  }
  const check = await tokens.verify(token);
  if (check.ok) return { ok: true, access: check.access };
  return { ok: false, reason: check.reason, ...TOKEN_FAILURE[check.problem] };
}
