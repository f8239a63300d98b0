import { describe, expect, it } from 'vitest';
import { HistoryClient, HistoryError } from './HistoryClient.ts';

function fakeFetch(status: number, body: unknown, seen: { url?: string; auth?: string } = {}) {
  return (async (url: string, init?: RequestInit) => {
    seen.url = url;
    seen.auth = (init?.headers as Record<string, string> | undefined)?.Authorization;
    return new Response(JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
}

const version = {
  id: '0000018f00000000',
  at: 5,
  reason: 'scheduled',
  authors: ['Ada'],
  size: 10,
  title: 'T',
};

describe('HistoryClient', () => {
  it('lists versions with the bearer token and an encoded path', async () => {
    const seen: { url?: string; auth?: string } = {};
    const client = new HistoryClient(
      'http://r:1/',
      'w1',
      () => 'tok',
      fakeFetch(200, { versions: [version] }, seen),
    );
    expect(await client.versions('n/1')).toEqual([version]);
    expect(seen.url).toBe('http://r:1/api/history/w1/notes/n%2F1');
    expect(seen.auth).toBe('Bearer tok');
  });

  it('reads a version body and purged notes', async () => {
    const client = new HistoryClient(
      'http://r:1',
      'w1',
      () => null,
      fakeFetch(200, { ...version, body: 'hi' }),
    );
    expect((await client.version('n1', version.id)).body).toBe('hi');
    const purged = new HistoryClient(
      'http://r:1',
      'w1',
      () => null,
      fakeFetch(200, {
        notes: [{ noteId: 'n1', title: 'T', purgedAt: 3, versionId: null }],
      }),
    );
    expect(await purged.purged()).toEqual([
      { noteId: 'n1', title: 'T', purgedAt: 3, versionId: null },
    ]);
  });

  it('reports relay errors, malformed answers and an unreachable relay', async () => {
    const denied = new HistoryClient(
      'http://r:1',
      'w1',
      () => null,
      fakeFetch(403, { error: 'nope' }),
    );
    await expect(denied.versions('n1')).rejects.toMatchObject({ status: 403, message: 'nope' });
    const bad = new HistoryClient(
      'http://r:1',
      'w1',
      () => null,
      fakeFetch(200, { versions: [{ id: 1 }] }),
    );
    await expect(bad.versions('n1')).rejects.toThrow(/malformed/);
    const offline = new HistoryClient('http://r:1', 'w1', () => null, (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch);
    await expect(offline.versions('n1')).rejects.toEqual(
      new HistoryError(0, 'the relay cannot be reached'),
    );
  });
});
