import { describe, expect, it } from 'vitest';
import { takeFragmentParam } from '../lib/sessionLink.ts';
import { shareLink, TOKEN_FRAGMENT_KEY, tokenClaims, withToken } from './tokens.ts';

function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${part({ alg: 'HS256', kid: 'k1' })}.${part(claims)}.sig`;
}

describe('tokens', () => {
  it('puts the token in the query string, replacing an older one', () => {
    expect(withToken('ws://h:1/sync', 'a.b.c')).toBe('ws://h:1/sync?token=a.b.c');
    expect(withToken('ws://h:1/sync?token=old', 'new')).toBe('ws://h:1/sync?token=new');
    expect(withToken('ws://h:1/sync', null)).toBe('ws://h:1/sync');
  });

  it('reads role, workspace and expiry from the claims; null for anything else', () => {
    expect(tokenClaims(jwt({ ws: 'w1', role: 'read', exp: 1700 }))).toEqual({
      workspaceId: 'w1',
      role: 'read',
      expiresAt: 1_700_000,
    });
    expect(tokenClaims(jwt({ ws: 'w1', role: 'owner' }))?.expiresAt).toBeNull();
    expect(tokenClaims(jwt({ ws: 'w1', role: 'admin' }))).toBeNull();
    expect(tokenClaims('garbage')).toBeNull();
    expect(tokenClaims('a.%%%.c')).toBeNull();
  });

  it('makes share links whose fragment round-trips, and leaves other fragments alone', () => {
    const token = jwt({ ws: 'w1', role: 'write' });
    const link = shareLink('https://notes.example', 'w1', token);
    expect(link.startsWith('https://notes.example/w/w1#token=')).toBe(true);
    const hash = new URL(link).hash;
    expect(takeFragmentParam(hash, TOKEN_FRAGMENT_KEY)).toEqual({ token, rest: '' });
    expect(takeFragmentParam(`${hash}&x=1`, TOKEN_FRAGMENT_KEY)).toEqual({ token, rest: '#x=1' });
    expect(takeFragmentParam('#other', TOKEN_FRAGMENT_KEY)).toEqual({
      token: null,
      rest: '#other',
    });
  });
});
