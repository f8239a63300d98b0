import { describe, expect, it } from 'vitest';
import { type ClosableSession, WorkspaceController } from './WorkspaceController.ts';

interface FakeSession extends ClosableSession {
  closed: boolean;
}

/** A factory whose opens resolve only when the test says so, and which logs every step. */
function fakeFactory() {
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  let created = 0;
  const make = async (id: string): Promise<FakeSession> => {
    log.push(`open ${id}`);
    await new Promise<void>((resolve) => gates.set(id, resolve));
    if (id.startsWith('broken')) throw new Error(`cannot open ${id}`);
    const session: FakeSession = {
      workspaceId: id,
      closed: false,
      close: async () => {
        log.push(`close ${id}`);
        session.closed = true;
      },
    };
    return session;
  };
  return {
    log,
    release: async (id: string) => {
      for (let i = 0; i < 20 && !gates.has(id); i++) await Promise.resolve();
      const gate = gates.get(id);
      if (!gate) throw new Error(`${id} was never opened`);
      gates.delete(id);
      gate();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    },
    factory: {
      open: make,
      create: async () => {
        created++;
        const session = await make(`new${created}`);
        return { session, noteId: `welcome${created}` };
      },
    },
  };
}

describe('WorkspaceController', () => {
  it('opens a workspace and reports each phase', async () => {
    const { factory, release } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const phases: string[] = [];
    controller.subscribe(() => phases.push(controller.state.phase));
    const opened = controller.open('a');
    expect(controller.state).toEqual({ phase: 'opening', workspaceId: 'a' });
    await release('a');
    const session = await opened;
    expect(session?.workspaceId).toBe('a');
    expect(controller.state).toEqual({ phase: 'ready', session });
    expect(phases).toEqual(['opening', 'ready']);
  });

  it('treats repeated requests for the same workspace as one (effects may run twice)', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const first = controller.open('a');
    const second = controller.open('a');
    await release('a');
    expect(await first).toBe(await second);
    expect(await controller.open('a')).toBe(await first);
    expect(log).toEqual(['open a']);
  });

  it('closes the old workspace before opening the next', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    await release('a');
    const sessionA = await a;
    const b = controller.open('b');
    await release('b');
    expect((await b)?.workspaceId).toBe('b');
    expect(sessionA?.closed).toBe(true);
    expect(log).toEqual(['open a', 'close a', 'open b']);
  });

  it('opens only the last of several quick switches', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    const b = controller.open('b');
    const c = controller.open('c');
    await release('c');
    expect(await a).toBeNull();
    expect(await b).toBeNull();
    expect((await c)?.workspaceId).toBe('c');
    expect(log).toEqual(['open c']);
    expect(controller.state.phase).toBe('ready');
  });

  it('closes a workspace that finished opening after it was superseded', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    await release('a');
    await a;
    const b = controller.open('b');
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const c = controller.open('c');
    await release('b');
    await release('c');
    expect(await b).toBeNull();
    expect((await c)?.workspaceId).toBe('c');
    expect(log).toEqual(['open a', 'close a', 'open b', 'close b', 'open c']);
  });

  it('returns to a workspace that is still open without reopening it', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    await release('a');
    const sessionA = await a;
    const b = controller.open('b');
    const again = controller.open('a');
    expect(await b).toBeNull();
    expect(await again).toBe(sessionA);
    expect(sessionA?.closed).toBe(false);
    expect(log).toEqual(['open a']);
  });

  it('reports a failed open as an error state and recovers on the next request', async () => {
    const { factory, release } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const broken = controller.open('broken1');
    await release('broken1');
    await expect(broken).rejects.toThrow('cannot open broken1');
    expect(controller.state).toEqual({
      phase: 'error',
      workspaceId: 'broken1',
      message: 'cannot open broken1',
    });
    const ok = controller.open('ok');
    await release('ok');
    expect((await ok)?.workspaceId).toBe('ok');
  });

  it('creates a workspace once even when asked twice, closing the open one first', async () => {
    const { factory, release, log } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    await release('a');
    await a;
    const first = controller.create();
    const second = controller.create();
    await release('new1');
    const created = await first;
    expect(created?.session.workspaceId).toBe('new1');
    expect(created?.noteId).toBe('welcome1');
    expect(await second).toEqual(created);
    expect(log).toEqual(['open a', 'close a', 'open new1']);
  });

  it('closes the open session on close()', async () => {
    const { factory, release } = fakeFactory();
    const controller = new WorkspaceController(factory);
    const a = controller.open('a');
    await release('a');
    const session = await a;
    await controller.close();
    expect(session?.closed).toBe(true);
    expect(controller.state).toEqual({ phase: 'idle' });
  });

  it('shows a preview while its workspace opens, and drops one that comes too late', async () => {
    const previews = new Map<string, (preview: string) => void>();
    const gates = new Map<string, (session: FakeSession) => void>();
    const session = (id: string): FakeSession => ({
      workspaceId: id,
      closed: false,
      close: async () => undefined,
    });
    const controller = new WorkspaceController<FakeSession, string>({
      open: (id, onPreview) => {
        previews.set(id, onPreview);
        return new Promise((resolve) => gates.set(id, resolve));
      },
      create: async () => ({ session: session('new'), noteId: 'n' }),
    });
    const a = controller.open('a');
    await expect.poll(() => previews.has('a')).toBe(true);
    previews.get('a')?.('list of a');
    expect(controller.state).toEqual({ phase: 'opening', workspaceId: 'a', preview: 'list of a' });
    gates.get('a')?.(session('a'));
    await a;
    expect(controller.state.phase).toBe('ready');
    // Late: the workspace is open, the preview must not replace it.
    previews.get('a')?.('stale');
    expect(controller.state.phase).toBe('ready');

    // Superseded: b's preview arrives after c was asked for.
    const b = controller.open('b');
    await expect.poll(() => previews.has('b')).toBe(true);
    const c = controller.open('c');
    previews.get('b')?.('list of b');
    expect(controller.state).toEqual({ phase: 'opening', workspaceId: 'c' });
    gates.get('b')?.(session('b'));
    await b;
    await expect.poll(() => previews.has('c')).toBe(true);
    gates.get('c')?.(session('c'));
    await c;
  });
});
