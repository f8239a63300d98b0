import { IndexedDbStorage } from '@lattice/replication';
import { MemoryTransport, ReplicaWorld, WORLD_RELAY_URL } from '@lattice/replication/testing';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { ListMarker, ListSnapshot } from './listSnapshot.ts';
import { type OpeningPreview, STARTUP_HOLD_MAX_MS, WorkspaceSession } from './WorkspaceSession.ts';
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

  describe('the link starts while the database opens', () => {
    it('connects before the storage is open, then syncs the workspace as before', async () => {
      const world = new ReplicaWorld();
      try {
        const relayed = {
          relays: [WORLD_RELAY_URL],
          replica: { transportFactory: world.network.factory },
        };
        const { session } = await WorkspaceSession.create({ ...device(), ...relayed });
        await session.store.create({ title: 'Two', body: 'two' });
        await session.replica.whenSynced();
        await session.close();

        // A new device whose database opens only once the replica has dialled the relay:
        // one built after the open (as before) would never get there.
        const fresh = device();
        let dialled: () => void = () => {};
        const connected = new Promise<void>((resolve) => {
          dialled = resolve;
        });
        const second = await WorkspaceSession.open(session.workspaceId, {
          ...fresh,
          relays: [WORLD_RELAY_URL],
          replica: {
            transportFactory: (url) => {
              dialled();
              return world.network.factory(url);
            },
          },
          openStorage: async (id) => {
            const opened = await Promise.race([
              connected.then(() => true),
              new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
            ]);
            if (!opened) throw new Error('the replica did not connect while the database opened');
            return fresh.openStorage(id);
          },
        });
        try {
          await expect.poll(() => second.store.list().length, { timeout: 4000 }).toBe(2);
          second.settleStartup();
          await second.replica.whenSynced();
        } finally {
          await second.close();
        }
      } finally {
        await world.close();
      }
    });

    it('still fails to open when the database cannot open, and closes the link it started', async () => {
      const transports: MemoryTransport[] = [];
      await expect(
        WorkspaceSession.open('SomeWorkspaceId0000001', {
          ...device(),
          relays: ['ws://relay.test/sync'],
          replica: {
            transportFactory: () => {
              const transport = new MemoryTransport(null);
              transports.push(transport);
              return transport;
            },
          },
          openStorage: async () => {
            await new Promise((r) => setTimeout(r, 10));
            throw new Error('database blocked');
          },
        }),
      ).rejects.toThrow('database blocked');
      expect(transports.length).toBeGreaterThan(0);
      expect(transports.every((t) => t.state === 'closed' || t.state === 'idle')).toBe(true);
    });
  });

  describe('background sync waits for the first screen', () => {
    /** A workspace of three notes on a relay, and a second device (own IndexedDB) opening it. */
    async function secondDevice(world: ReplicaWorld) {
      const relayed = {
        relays: [WORLD_RELAY_URL],
        replica: { transportFactory: world.network.factory },
      };
      const { session } = await WorkspaceSession.create({ ...device(), ...relayed });
      for (const title of ['One', 'Two']) await session.store.create({ title, body: title });
      await session.replica.whenSynced();
      await session.close();
      return WorkspaceSession.open(session.workspaceId, { ...device(), ...relayed });
    }

    it('syncs the index at once, the note docs after settleStartup, and says syncing meanwhile', async () => {
      const world = new ReplicaWorld();
      try {
        const session = await secondDevice(world);
        try {
          // The index doc (open) is synced: the list is complete...
          await expect.poll(() => session.store.list().length, { timeout: 4000 }).toBe(3);
          await expect
            .poll(() => session.replica.docStatus(session.workspaceId).state)
            .toBe('synced');
          // ...its note docs wait, and nothing says the workspace is synced.
          expect(session.replica.progress).toEqual({ synced: 1, total: 4 });
          expect(session.replica.status.state).toBe('syncing');
          session.settleStartup();
          await session.replica.whenSynced();
          expect(session.replica.progress).toEqual({ synced: 4, total: 4 });
        } finally {
          await session.close();
        }
      } finally {
        await world.close();
      }
    });

    it('syncs them anyway when the screen never settles', async () => {
      const world = new ReplicaWorld();
      try {
        const session = await secondDevice(world);
        const opened = performance.now();
        try {
          await session.replica.whenSynced();
          expect(performance.now() - opened).toBeGreaterThan(STARTUP_HOLD_MAX_MS - 100);
          expect(session.replica.progress).toEqual({ synced: 4, total: 4 });
        } finally {
          await session.close();
        }
      } finally {
        await world.close();
      }
    });
  });

  describe('list snapshot (a returning start paints the last list shown)', () => {
    function memoryMarker(): ListMarker & { values: Map<string, string> } {
      const values = new Map<string, string>();
      return {
        values,
        read: (id) => values.get(id) ?? null,
        write: (id, token) => values.set(id, token),
      };
    }

    /** Opens with `onPreview`; says what was previewed and whether that came before `open` resolved. */
    async function openRecording(
      workspaceId: string,
      options: Parameters<typeof WorkspaceSession.open>[1],
    ) {
      const previews: { snapshot: ListSnapshot; beforeOpen: boolean }[] = [];
      let opened = false;
      const session = await WorkspaceSession.open(workspaceId, {
        ...options,
        onPreview: ({ snapshot }) => previews.push({ snapshot, beforeOpen: !opened }),
      });
      opened = true;
      return { session, previews };
    }

    it('paints the list this device showed last, before the workspace is open', async () => {
      const options = { ...device(), listMarker: memoryMarker() };
      const { session } = await WorkspaceSession.create(options);
      await session.store.create({ title: 'Second', body: 'more words' });
      await session.store.whenIndexed();
      const shown = session.store.list();
      const trashCount = session.store.list({ trashed: true }).length;
      await session.close();

      const { session: again, previews } = await openRecording(session.workspaceId, options);
      try {
        expect(previews).toHaveLength(1);
        expect(previews[0]?.beforeOpen).toBe(true);
        expect(previews[0]?.snapshot.notes).toEqual(shown);
        expect(previews[0]?.snapshot.trashCount).toBe(trashCount);
        // The index agrees: nothing to store again.
        expect(again.store.list()).toEqual(shown);
      } finally {
        await again.close();
      }
    });

    it('never paints a list older than one shown later (its snapshot write was lost)', async () => {
      const marker = memoryMarker();
      const base = device();
      const { session } = await WorkspaceSession.create({ ...base, listMarker: marker });
      const noteId = session.store.list()[0]?.id as string;
      await session.close();

      // The next session paints that list, then renames the note; its snapshot write
      // never lands (a crash, say).
      const { session: losing, previews: painted } = await openRecording(session.workspaceId, {
        ...base,
        listMarker: marker,
        openStorage: async (id) => {
          const storage = await base.openStorage(id);
          const setMeta = storage.setMeta.bind(storage);
          storage.setMeta = (key, value) =>
            key === 'list-snapshot' ? Promise.reject(new Error('lost')) : setMeta(key, value);
          return storage;
        },
      });
      expect(painted).toHaveLength(1);
      losing.store.rename(noteId, 'Renamed');
      await expect.poll(() => losing.store.get(noteId)?.title).toBe('Renamed');
      await losing.close();

      const { session: third, previews } = await openRecording(session.workspaceId, {
        ...base,
        listMarker: marker,
      });
      try {
        expect(previews).toEqual([]);
        expect(third.store.get(noteId)?.title).toBe('Renamed');
      } finally {
        await third.close();
      }
    });

    it('does not paint when another tab showed a later list, nor for a link carrying a session', async () => {
      const marker = memoryMarker();
      const options = { ...device(), listMarker: marker };
      const { session } = await WorkspaceSession.create(options);
      const workspaceId = session.workspaceId;
      const token = await session.replica.exportSession([workspaceId]);
      await session.close();

      const linked = await openRecording(workspaceId, { ...options, sessionToken: token });
      expect(linked.previews).toEqual([]);
      await linked.session.close();

      const plain = await openRecording(workspaceId, options);
      expect(plain.previews).toHaveLength(1);
      await plain.session.close();

      marker.write(workspaceId, 'another-tab');
      const afterOtherTab = await openRecording(workspaceId, options);
      expect(afterOtherTab.previews).toEqual([]);
      await afterOtherTab.session.close();
    });
    it('loads the note at the URL alongside the index doc when the painted list holds it', async () => {
      const marker = memoryMarker();
      const base = device();
      const { session, noteId } = await WorkspaceSession.create({ ...base, listMarker: marker });
      const workspaceId = session.workspaceId;
      await session.close();

      /** Opens at `/w/<ws>/<note>`, recording which docs were loaded before `open` resolved. */
      const openAt = async (note: string) => {
        const loaded: string[] = [];
        let preview: OpeningPreview | null = null;
        const s2 = await WorkspaceSession.open(workspaceId, {
          ...base,
          listMarker: marker,
          noteId: note,
          onPreview: (shown) => {
            preview = shown;
          },
          openStorage: async (id) => {
            const storage = await base.openStorage(id);
            const load = storage.load.bind(storage);
            storage.load = (docName) => {
              loaded.push(docName);
              return load(docName);
            };
            return storage;
          },
        });
        return { session: s2, loaded: [...loaded], preview: preview as OpeningPreview | null };
      };
      const listed = await openAt(noteId);
      try {
        expect(listed.loaded).toContain(`${workspaceId}/${noteId}`);
        // The preview gets that same doc, and nothing for a note its list does not hold.
        const early = await listed.preview?.openNote(noteId);
        expect(early?.doc.getText('body').toString()).toMatch(/^Lattice keeps your notes/);
        expect(listed.preview?.openNote('NotInThisWorkspace0000')).toBeNull();
        const handle = await listed.session.store.openNote(noteId);
        expect(handle.doc).toBe(early?.doc);
        listed.session.settleStartup();
        // Settled: the pane holds its own handle; the preview opens nothing more.
        expect(listed.preview?.openNote(noteId)).toBeNull();
        expect(handle.body.toString()).toMatch(/^Lattice keeps your notes/);
        handle.release();
      } finally {
        await listed.session.close();
      }
      // A note the list does not hold (purged, or never here) is not loaded ahead.
      const unlisted = await openAt('NotInThisWorkspace0000');
      try {
        expect(unlisted.loaded).toEqual([workspaceId]);
      } finally {
        await unlisted.session.close();
      }
    });
  });
});
