import { IndexedDbStorage } from '@lattice/replication';
import { MemoryTransport } from '@lattice/replication/testing';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { WorkspaceSession } from './WorkspaceSession.ts';
import { WELCOME_TITLE } from './welcome.ts';

/** Sessions on one fake browser: every session sees the same IndexedDB, nothing touches the network. */
function device() {
  const factory = new IDBFactory();
  return {
    relays: [] as string[],
    broadcast: false,
    openStorage: (id: string) => IndexedDbStorage.open(`lattice:${id}`, factory, IDBKeyRange),
  };
}

describe('WorkspaceSession', () => {
  it('creates a workspace with exactly one welcome note, without any network', async () => {
    const options = device();
    const { session, noteId } = await WorkspaceSession.create(options);
    try {
      expect(session.workspaceId).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const notes = session.store.list();
      expect(notes.map((note) => note.id)).toEqual([noteId]);
      expect(notes[0]?.title).toBe(WELCOME_TITLE);
      expect(notes[0]?.snippet).toMatch(/^Lattice keeps your notes/);
      expect(session.replica.status.state).toBe('offline');
    } finally {
      await session.close();
    }
  });

  it('keeps the workspace on the device: reopening shows the same notes and seeds nothing', async () => {
    const options = device();
    const { session, noteId } = await WorkspaceSession.create(options);
    const workspaceId = session.workspaceId;
    await session.store.create({ title: 'Second', body: 'more' });
    await session.close();
    await session.close();

    const reopened = await WorkspaceSession.open(workspaceId, options);
    try {
      const titles = reopened.store.list().map((note) => note.title);
      expect(titles.sort()).toEqual(['Second', WELCOME_TITLE].sort());
      expect(reopened.store.get(noteId)?.title).toBe(WELCOME_TITLE);
    } finally {
      await reopened.close();
    }
  });

  it("imports a link's session token first: a device that lacks what the link's session saw says so", async () => {
    const { session: first } = await WorkspaceSession.create(device());
    const workspaceId = first.workspaceId;
    const token = await first.replica.exportSession([workspaceId]);
    await first.close();

    // Another device, no relay: it cannot have the index doc the token says was read.
    const second = await WorkspaceSession.open(workspaceId, { ...device(), sessionToken: token });
    try {
      expect(second.notice).toBeNull();
      const warnings = second.replica.replicationInfo().sessionWarnings;
      expect(warnings.map((w) => w.docName)).toContain(workspaceId);
    } finally {
      await second.close();
    }
    // Without the token the same empty device has nothing to warn about.
    const plain = await WorkspaceSession.open(workspaceId, device());
    try {
      expect(plain.replica.replicationInfo().sessionWarnings).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('a token it cannot read is reported, and the workspace opens anyway', async () => {
    const session = await WorkspaceSession.open('SomeoneElsesWorkspace1', {
      ...device(),
      sessionToken: 'not-a-token',
    });
    try {
      expect(session.notice).toMatch(/could not be used/);
      expect(session.store.list()).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('opens a workspace from a link empty: it never seeds content of its own', async () => {
    const options = device();
    const session = await WorkspaceSession.open('SomeoneElsesWorkspace1', options);
    try {
      expect(session.store.list()).toEqual([]);
      expect(session.store.list({ trashed: true })).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('keeps workspaces apart on one device', async () => {
    const options = device();
    const first = await WorkspaceSession.create(options);
    const second = await WorkspaceSession.create(options);
    try {
      expect(first.session.workspaceId).not.toBe(second.session.workspaceId);
      await first.session.store.create({ title: 'Only in first' });
      expect(second.session.store.list().map((note) => note.title)).toEqual([WELCOME_TITLE]);
    } finally {
      await first.session.close();
      await second.session.close();
    }
  });

  it('puts the token on every relay URL, and a claimed token on the next ones', async () => {
    const urls: string[] = [];
    const transportFactory = (url: string) => {
      urls.push(url);
      return new MemoryTransport(null);
    };
    const options = {
      ...device(),
      relays: ['ws://relay.test/sync'],
      replica: { transportFactory, backoff: { baseMs: 1, maxMs: 5 } },
    };
    const { session } = await WorkspaceSession.create({
      ...options,
      auth: {
        api: {
          claim: async () => ({ kind: 'claimed' as const, token: 'owner.tok.en' }),
        } as never,
        createdHere: true,
        saveToken: () => {},
      },
    });
    try {
      const deadline = Date.now() + 3000;
      while (!urls.includes('ws://relay.test/sync?token=owner.tok.en') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(urls).toContain('ws://relay.test/sync?token=owner.tok.en');
      expect(session.access.token).toBe('owner.tok.en');
    } finally {
      await session.close();
    }
    const reopened = await WorkspaceSession.open(session.workspaceId, {
      ...options,
      token: 'share.tok.en',
    });
    await reopened.close();
    expect(urls).toContain('ws://relay.test/sync?token=share.tok.en');
  });
});
