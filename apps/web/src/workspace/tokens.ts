/**
 * Access tokens as the web app handles them: attached to relay URLs, read
 * from share links, and peeked at (never verified: the relay does that) to
 * know which role a stored token carries.
 */

/** The URL-fragment key of a share link's token (`<origin>/w/<id>#token=<jwt>`). */
export const TOKEN_FRAGMENT_KEY = 'token';

/** What the app reads from a token's claims. */
export interface TokenClaims {
  workspaceId: string;
  role: 'owner' | 'write' | 'read';
  /** ms epoch, or null for never. */
  expiresAt: number | null;
}

/** `url` with `?token=<token>` (replacing any token it had); `url` unchanged without a token. */
export function withToken(url: string, token: string | null | undefined): string {
  if (!token) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}

/** A JWT's claims as far as the app cares, or null for anything that is not a Lattice token. */
export function tokenClaims(token: string): TokenClaims | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as Record<string, unknown>;
    const { ws, role, exp } = claims;
    if (typeof ws !== 'string') return null;
    if (role !== 'owner' && role !== 'write' && role !== 'read') return null;
    return { workspaceId: ws, role, expiresAt: typeof exp === 'number' ? exp * 1000 : null };
  } catch {
    return null;
  }
}

/** A share link: `<origin>/w/<workspaceId>#token=<token>`. */
export function shareLink(origin: string, workspaceId: string, token: string): string {
  const fragment = new URLSearchParams({ [TOKEN_FRAGMENT_KEY]: token });
  return `${origin}/w/${encodeURIComponent(workspaceId)}#${fragment.toString()}`;
}
