import { describe, expect, it } from 'vitest';
import { memoryKeyValueStorage } from '../testing/index.ts';
import {
  mostRecentWorkspace,
  readWorkspaces,
  rememberToken,
  rememberWorkspace,
  renameWorkspace,
  WORKSPACES_BACKUP_KEY,
  WORKSPACES_KEY,
} from './workspaces.ts';

describe('workspace list', () => {
  it('starts empty and remembers workspaces in the order they were added', () => {
    const storage = memoryKeyValueStorage();
    expect(readWorkspaces(storage)).toEqual([]);
    rememberWorkspace(storage, { id: 'mine', createdHere: true }, 1);
    rememberWorkspace(storage, { id: 'theirs', createdHere: false }, 2);
    const list = readWorkspaces(storage);
    expect(list.map((entry) => entry.id)).toEqual(['mine', 'theirs']);
    expect(list[0]).toMatchObject({ name: 'My notes', createdHere: true, addedAt: 1 });
    expect(list[1]).toMatchObject({ name: 'Shared theirs', createdHere: false });
    expect(JSON.parse(storage.entries.get(WORKSPACES_KEY) ?? '')).toEqual(list);
  });

  it('updates lastOpenedAt on reopen and never forgets that a workspace was created here', () => {
    const storage = memoryKeyValueStorage();
    rememberWorkspace(storage, { id: 'a', createdHere: true }, 1);
    rememberWorkspace(storage, { id: 'b', createdHere: true }, 2);
    rememberWorkspace(storage, { id: 'a', createdHere: false }, 3);
    const list = readWorkspaces(storage);
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ id: 'a', createdHere: true, addedAt: 1, lastOpenedAt: 3 });
    expect(list[1]?.name).toBe('Notes 2');
    expect(mostRecentWorkspace(list)?.id).toBe('a');
    expect(mostRecentWorkspace([])).toBeUndefined();
  });

  it('renames locally and rejects blank names and unknown ids', () => {
    const storage = memoryKeyValueStorage();
    rememberWorkspace(storage, { id: 'a', createdHere: true }, 1);
    expect(renameWorkspace(storage, 'a', '  Work  ')[0]?.name).toBe('Work');
    expect(() => renameWorkspace(storage, 'a', '   ')).toThrow(/empty/);
    expect(() => renameWorkspace(storage, 'zz', 'x')).toThrow(/Unknown/);
    expect(readWorkspaces(storage)[0]?.name).toBe('Work');
  });

  it('rejects ids that could not appear in a URL', () => {
    const storage = memoryKeyValueStorage();
    expect(() => rememberWorkspace(storage, { id: 'a/b', createdHere: false }, 1)).toThrow(
      /Not a workspace id/,
    );
    expect(readWorkspaces(storage)).toEqual([]);
  });

  it('keeps an unreadable list aside instead of losing it', () => {
    const storage = memoryKeyValueStorage({ [WORKSPACES_KEY]: '{not json' });
    expect(readWorkspaces(storage)).toEqual([]);
    expect(storage.entries.get(WORKSPACES_BACKUP_KEY)).toBe('{not json');
  });

  it('skips malformed and duplicate entries but keeps the good ones', () => {
    const storage = memoryKeyValueStorage({
      [WORKSPACES_KEY]: JSON.stringify([
        { id: 'ok', name: 'Fine', createdHere: true, addedAt: 5, lastOpenedAt: 6 },
        { id: 'bad/id' },
        42,
        { id: 'ok', name: 'Dup' },
        { id: 'bare' },
      ]),
    });
    expect(readWorkspaces(storage)).toEqual([
      { id: 'ok', name: 'Fine', createdHere: true, addedAt: 5, lastOpenedAt: 6 },
      { id: 'bare', name: 'Workspace bare', createdHere: false, addedAt: 0, lastOpenedAt: 0 },
    ]);
  });

  it('keeps tokens: old entries have none, a share token is stored, an owner token never demoted', () => {
    const claims = (role: string) =>
      `h.${btoa(JSON.stringify({ ws: 'w', role })).replace(/=+$/, '')}.s`;
    const storage = memoryKeyValueStorage({
      [WORKSPACES_KEY]: JSON.stringify([{ id: 'w', name: 'Old', createdHere: true }]),
    });
    expect(readWorkspaces(storage)[0]?.token).toBeUndefined();
    rememberToken(storage, 'w', claims('owner'), 5);
    rememberWorkspace(storage, { id: 'w', createdHere: false }, 6);
    expect(readWorkspaces(storage)[0]?.token).toBe(claims('owner'));
    rememberToken(storage, 'w', claims('read'), 7);
    expect(readWorkspaces(storage)[0]?.token).toBe(claims('owner'));

    rememberToken(storage, 'shared', claims('read'), 8);
    rememberToken(storage, 'shared', claims('write'), 9);
    expect(readWorkspaces(storage)[1]).toMatchObject({
      id: 'shared',
      createdHere: false,
      token: claims('write'),
    });
    expect(() => rememberToken(storage, 'bad/id', 't', 1)).toThrow(/Not a workspace id/);
  });
});
