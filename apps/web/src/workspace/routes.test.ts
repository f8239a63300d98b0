import { describe, expect, it } from 'vitest';
import { isValidId, parseRoute, workspacePath } from './routes.ts';

describe('parseRoute', () => {
  it('reads the home page', () => {
    expect(parseRoute('/')).toEqual({ kind: 'home' });
    expect(parseRoute('')).toEqual({ kind: 'home' });
  });

  it('reads a workspace with and without an open note', () => {
    expect(parseRoute('/w/abc_DEF-123')).toEqual({
      kind: 'workspace',
      workspaceId: 'abc_DEF-123',
      noteId: null,
    });
    expect(parseRoute('/w/ws1/note1/')).toEqual({
      kind: 'workspace',
      workspaceId: 'ws1',
      noteId: 'note1',
    });
  });

  it('rejects paths that are not workspaces, with a reason', () => {
    for (const path of ['/x/abc', '/w', '/w/a/b/c', '/w/a%2Fb', '/w/ok/bad%2Fid', '/w/%E0%A4%A']) {
      const route = parseRoute(path);
      expect(route.kind, path).toBe('invalid');
      if (route.kind === 'invalid') expect(route.reason.length).toBeGreaterThan(0);
    }
  });

  it('round-trips paths built by workspacePath', () => {
    const ws = 'q1w2e3r4t5y6u7i8o9p0AA';
    expect(parseRoute(workspacePath(ws))).toEqual({
      kind: 'workspace',
      workspaceId: ws,
      noteId: null,
    });
    expect(parseRoute(workspacePath(ws, 'n_1'))).toEqual({
      kind: 'workspace',
      workspaceId: ws,
      noteId: 'n_1',
    });
    expect(workspacePath(ws, null)).toBe(`/w/${ws}`);
  });
});

describe('isValidId', () => {
  it('accepts base64url and rejects anything path-like or too long', () => {
    expect(isValidId('AAAAAAAAAAAAAAAAAAAAAA')).toBe(true);
    expect(isValidId('')).toBe(false);
    expect(isValidId('a/b')).toBe(false);
    expect(isValidId('a.b')).toBe(false);
    expect(isValidId('x'.repeat(65))).toBe(false);
  });
});
