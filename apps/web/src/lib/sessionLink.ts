/** The URL-fragment key that carries a session token (`Replica.exportSession`). */
export const SESSION_FRAGMENT_KEY = 'session';

/**
 * Splits a location hash (`#session=ls1.…&other`) into the session token and
 * the rest of the fragment. A fragment never reaches a server, which is why
 * the token travels there.
 */
export function readSessionFragment(hash: string): { token: string | null; rest: string } {
  return takeFragmentParam(hash, SESSION_FRAGMENT_KEY);
}

/** Splits `key`'s value out of a location hash: the value (null if absent or empty) and the rest of the fragment. */
export function takeFragmentParam(
  hash: string,
  key: string,
): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  // Someone else's fragment stays exactly as it was (URLSearchParams would rewrite `#x` as `#x=`).
  if (!params.has(key)) return { token: null, rest: hash };
  const token = params.get(key);
  params.delete(key);
  const rest = params.toString();
  return { token: token === null || token === '' ? null : token, rest: rest ? `#${rest}` : '' };
}

/** `url` with `#session=<token>` as its fragment (replacing any fragment it had). */
export function withSessionFragment(url: string, token: string): string {
  const base = url.split('#', 1)[0] as string;
  const fragment = new URLSearchParams({ [SESSION_FRAGMENT_KEY]: token });
  return `${base}#${fragment.toString()}`;
}
