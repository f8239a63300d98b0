import { describe, expect, it } from 'vitest';
import { peersByNote, readWorkspacePeers, samePeers } from './workspacePresence.ts';

const states = (entries: Array<[number, Record<string, unknown>]>) => new Map(entries);

describe('workspace presence', () => {
  it('lists everyone but this client, with the note each has open, by name', () => {
    const peers = readWorkspacePeers(
      states([
        [1, { user: { name: 'Me', color: '#111111' }, noteId: 'n1' }],
        [7, { user: { name: 'Zoe', color: '#ff0000' }, noteId: 'n1' }],
        [3, { user: { name: 'Al', color: '#00ff00' }, noteId: null }],
      ]),
      1,
    );
    expect(peers).toEqual([
      { clientId: 3, name: 'Al', color: '#00ff00', noteId: null },
      { clientId: 7, name: 'Zoe', color: '#ff0000', noteId: 'n1' },
    ]);
  });

  it('ignores states without a user and repairs odd fields', () => {
    const peers = readWorkspacePeers(
      states([
        [2, {}],
        [3, { user: 'nope' }],
        [4, { user: { name: 42 } }],
        [5, { user: { name: '  ', color: 'red' }, noteId: 7 }],
        [6, { user: { name: 'x'.repeat(100), color: '#abcdef' }, noteId: 'y'.repeat(65) }],
      ]),
      1,
    );
    expect(peers).toEqual([
      { clientId: 5, name: 'Anonymous', color: '#888888', noteId: null },
      { clientId: 6, name: 'x'.repeat(40), color: '#abcdef', noteId: null },
    ]);
  });

  it('groups peers by note and compares lists', () => {
    const peers = readWorkspacePeers(
      states([
        [2, { user: { name: 'A', color: '#000000' }, noteId: 'n1' }],
        [3, { user: { name: 'B', color: '#000000' }, noteId: 'n1' }],
        [4, { user: { name: 'C', color: '#000000' }, noteId: 'n2' }],
        [5, { user: { name: 'D', color: '#000000' }, noteId: null }],
      ]),
      1,
    );
    const byNote = peersByNote(peers);
    expect([...byNote.keys()].sort()).toEqual(['n1', 'n2']);
    expect(byNote.get('n1')?.map((p) => p.name)).toEqual(['A', 'B']);
    expect(samePeers(peers, [...peers])).toBe(true);
    expect(samePeers(peers, peers.slice(1))).toBe(false);
    const moved = peers.map((p) => (p.clientId === 5 ? { ...p, noteId: 'n2' } : p));
    expect(samePeers(peers, moved)).toBe(false);
  });
});
