import { NoteStore } from '@lattice/notes';
import { MemoryDocSource } from '@lattice/notes/testing';
import { describe, expect, it } from 'vitest';
import { type IdleScheduler, type IdleTime, type NotePreparer, NoteWarmer } from './NoteWarmer.ts';

/** An idle scheduler the test drives: `run` runs the queued task, as an idle period would. */
function manualIdle(): IdleScheduler & {
  run(idle?: IdleTime): Promise<boolean>;
  readonly queued: number;
} {
  const tasks: ((idle?: IdleTime) => void)[] = [];
  const idle = ((task: (idle?: IdleTime) => void) => {
    tasks.push(task);
    return () => {
      const at = tasks.indexOf(task);
      if (at >= 0) tasks.splice(at, 1);
    };
  }) as IdleScheduler & { run(idle?: IdleTime): Promise<boolean>; readonly queued: number };
  idle.run = async (time?: IdleTime) => {
    const task = tasks.shift();
    task?.(time);
    // Let the open's storage read settle.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    return task !== undefined;
  };
  Object.defineProperty(idle, 'queued', { get: () => tasks.length });
  return idle;
}

async function storeWith(count: number) {
  const source = new MemoryDocSource();
  const store = await NoteStore.open({ workspaceId: 'ws', source });
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(await store.create({ title: `n${i}`, body: `body ${i}` }));
  return { source, store, ids };
}

async function drain(idle: ReturnType<typeof manualIdle>): Promise<void> {
  while (await idle.run()) {}
}

describe('NoteWarmer', () => {
  it('opens nothing before start, then the notes in view in order, one per idle period', async () => {
    const { store, ids } = await storeWith(4);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle });
    warmer.want(ids.slice(0, 3));
    expect(idle.queued).toBe(0);
    expect(store.openNoteIfOpen(ids[0] as string)).toBeNull();
    warmer.start();
    expect(idle.queued).toBe(1);
    await idle.run();
    expect(warmer.held).toEqual([ids[0]]);
    await drain(idle);
    expect(warmer.held).toEqual(ids.slice(0, 3));
    const shown = store.openNoteIfOpen(ids[1] as string);
    expect(shown?.body.toString()).toBe('body 1');
    shown?.release();
    expect(store.openNoteIfOpen(ids[3] as string)).toBeNull();
    warmer.dispose();
    store.close();
  });

  it('warmFirst opens the top rows at once, without waiting for idle periods', async () => {
    const { store, ids } = await storeWith(5);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle });
    warmer.want(ids);
    await warmer.warmFirst(2);
    expect(warmer.held).toEqual(ids.slice(0, 2));
    expect(idle.queued).toBe(0);
    const shown = store.openNoteIfOpen(ids[1] as string);
    expect(shown?.body.toString()).toBe('body 1');
    shown?.release();
    // The same rows again: nothing more is opened; the rest wait for start.
    await warmer.warmFirst(2);
    expect(warmer.held).toEqual(ids.slice(0, 2));
    warmer.start();
    await drain(idle);
    expect(warmer.held).toEqual(ids);
    warmer.dispose();
    store.close();
  });

  it('holds at most `capacity` notes, releasing the least recently in view first', async () => {
    const { store, ids } = await storeWith(5);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle, capacity: 2 });
    warmer.start();
    warmer.want([ids[0] as string, ids[1] as string]);
    await drain(idle);
    warmer.want([ids[2] as string, ids[0] as string]);
    await drain(idle);
    expect(warmer.held.sort()).toEqual([ids[0], ids[2]].sort());
    // The evicted note's doc was released: nothing holds it open any more.
    expect(store.openNoteIfOpen(ids[1] as string)).toBeNull();
    // More wanted than fits: only the first `capacity` are opened.
    warmer.want(ids.slice(1, 5));
    await drain(idle);
    expect(warmer.held.sort()).toEqual([ids[1], ids[2]].sort());
    warmer.dispose();
    expect(store.openNoteIfOpen(ids[1] as string)).toBeNull();
    expect(store.openNoteIfOpen(ids[2] as string)).toBeNull();
    store.close();
  });

  it('a note opened by the pane stays open after the warmer lets it go, and the reverse', async () => {
    const { store, ids } = await storeWith(2);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle, capacity: 1 });
    warmer.start();
    warmer.want([ids[0] as string]);
    await drain(idle);
    const pane = store.openNoteIfOpen(ids[0] as string);
    expect(pane).not.toBeNull();
    warmer.want([ids[1] as string]);
    await drain(idle);
    expect(warmer.held).toEqual([ids[1]]);
    // Evicted from the warmer, still shown in the pane: the same live doc.
    pane?.doc.transact(() => pane.body.insert(0, 'edited '));
    const again = store.openNoteIfOpen(ids[0] as string);
    expect(again?.body.toString()).toBe('edited body 0');
    again?.release();
    pane?.release();
    expect(store.openNoteIfOpen(ids[0] as string)).toBeNull();
    warmer.dispose();
    store.close();
  });

  it('skips notes that cannot be opened and drops held notes that were purged', async () => {
    const { store, ids } = await storeWith(2);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle });
    warmer.start();
    warmer.want(['missing', ids[0] as string, ids[1] as string]);
    await drain(idle);
    expect(warmer.held).toEqual([ids[0], ids[1]]);
    await store.purge(ids[0] as string);
    warmer.want([ids[1] as string]);
    expect(warmer.held).toEqual([ids[1]]);
    expect(idle.queued).toBe(0);
    warmer.dispose();
    store.close();
  });

  it('after dispose, an open in flight is released and nothing more is scheduled', async () => {
    const { store, ids } = await storeWith(2);
    const idle = manualIdle();
    const warmer = new NoteWarmer(store, { idle });
    warmer.start();
    warmer.want(ids);
    // Start the first open, dispose before its read settles.
    const started = idle.run();
    warmer.dispose();
    await started;
    await drain(idle);
    expect(warmer.held).toEqual([]);
    expect(store.openNoteIfOpen(ids[0] as string)).toBeNull();
    expect(store.openNoteIfOpen(ids[1] as string)).toBeNull();
    warmer.want(ids);
    expect(idle.queued).toBe(0);
    store.close();
  });

  describe('with a preparer', () => {
    /** Records what the warmer asks of it; a note needs preparing once, until forgotten. */
    function recorder(): NotePreparer & { log: string[] } {
      const prepared = new Set<string>();
      const log: string[] = [];
      return {
        log,
        needs: (handle) => !prepared.has(handle.id),
        prepare: (handle) => {
          prepared.add(handle.id);
          log.push(`prepare ${handle.id}`);
        },
        forget: (handle) => {
          prepared.delete(handle.id);
          log.push(`forget ${handle.id}`);
        },
      };
    }

    it('prepares held notes of the first rows in list order, each after it is open, one per idle period', async () => {
      const { store, ids } = await storeWith(4);
      const idle = manualIdle();
      const preparer = recorder();
      const warmer = new NoteWarmer(store, { idle, preparer, prepareRows: 2 });
      warmer.want(ids.slice(0, 3));
      await warmer.warmFirst(1);
      // Nothing before start, even for a held note.
      expect(idle.queued).toBe(0);
      expect(preparer.log).toEqual([]);
      warmer.start();
      await idle.run();
      expect(preparer.log).toEqual([`prepare ${ids[0]}`]);
      expect(warmer.held).toEqual([ids[0]]);
      await idle.run();
      // The next row is opened first, prepared in the period after.
      expect(warmer.held).toEqual(ids.slice(0, 2));
      expect(preparer.log).toEqual([`prepare ${ids[0]}`]);
      await drain(idle);
      // The third row is held but beyond `prepareRows`.
      expect(warmer.held).toEqual(ids.slice(0, 3));
      expect(preparer.log).toEqual([`prepare ${ids[0]}`, `prepare ${ids[1]}`]);
      warmer.dispose();
      expect(preparer.log.slice(2).sort()).toEqual(
        ids
          .slice(0, 3)
          .map((id) => `forget ${id}`)
          .sort(),
      );
      store.close();
    });

    it('prepares several held notes in one idle period while it has time', async () => {
      const { store, ids } = await storeWith(5);
      const idle = manualIdle();
      const preparer = recorder();
      const warmer = new NoteWarmer(store, { idle, preparer });
      warmer.want(ids);
      await warmer.warmFirst(4);
      warmer.start();
      // A period with no time left: one preparation only.
      await idle.run({ timeRemaining: () => 0, didTimeout: false });
      expect(preparer.log).toEqual([`prepare ${ids[0]}`]);
      // One preparation always; one more while the period has time left.
      let left = 1;
      await idle.run({ timeRemaining: () => (left-- > 0 ? 10 : 0), didTimeout: false });
      expect(preparer.log).toEqual(ids.slice(0, 3).map((id) => `prepare ${id}`));
      // A roomy period prepares the rest of the held rows and stops at the first row to open.
      await idle.run({ timeRemaining: () => 50, didTimeout: false });
      expect(preparer.log).toEqual(ids.slice(0, 4).map((id) => `prepare ${id}`));
      expect(warmer.held).toEqual(ids.slice(0, 4));
      await drain(idle);
      expect(warmer.held).toEqual(ids);
      expect(preparer.log.at(-1)).toBe(`prepare ${ids[4]}`);
      warmer.dispose();
      store.close();
    });

    it('forgets what it prepared for a note it lets go, and prepares again when asked anew', async () => {
      const { store, ids } = await storeWith(3);
      const idle = manualIdle();
      const preparer = recorder();
      const warmer = new NoteWarmer(store, { idle, preparer, capacity: 1 });
      warmer.want([ids[0] as string]);
      warmer.start();
      await drain(idle);
      expect(preparer.log).toEqual([`prepare ${ids[0]}`]);
      warmer.want([ids[1] as string]);
      await drain(idle);
      expect(preparer.log).toEqual([`prepare ${ids[0]}`, `forget ${ids[0]}`, `prepare ${ids[1]}`]);
      // Its state was used up (an editor took it): start looks for idle work again.
      preparer.forget(store.openNoteIfOpen(ids[1] as string) ?? (undefined as never));
      warmer.start();
      await drain(idle);
      expect(preparer.log.at(-1)).toBe(`prepare ${ids[1]}`);
      warmer.dispose();
      store.close();
    });

    it('a preparer that throws costs only the head start', async () => {
      const { store, ids } = await storeWith(2);
      const idle = manualIdle();
      const errors: unknown[] = [];
      const original = console.error;
      console.error = (error: unknown) => errors.push(error);
      try {
        const warmer = new NoteWarmer(store, {
          idle,
          preparer: {
            needs: () => true,
            prepare: () => {
              throw new Error('boom');
            },
            forget: () => {},
          },
        });
        warmer.want(ids);
        warmer.start();
        await drain(idle);
        expect(warmer.held).toEqual(ids);
        expect(errors).toHaveLength(2);
        warmer.dispose();
      } finally {
        console.error = original;
      }
      store.close();
    });
  });
});
