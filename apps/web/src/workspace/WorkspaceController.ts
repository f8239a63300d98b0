/** What the controller needs from a session: its id and a way to shut it down. */
export interface ClosableSession {
  readonly workspaceId: string;
  close(): Promise<void>;
}

/** The UI-facing state: which workspace is open, being opened, or failed. */
export type ControllerState<S extends ClosableSession, P = unknown> =
  | { phase: 'idle' }
  /** `preview`: what the session said can be shown while it opens (the last list shown). */
  | { phase: 'opening'; workspaceId: string | null; preview?: P }
  | { phase: 'ready'; session: S }
  | { phase: 'error'; workspaceId: string | null; message: string };

/** How sessions are made; the app passes `WorkspaceSession`, tests pass fakes. */
export interface SessionFactory<S extends ClosableSession, P = unknown> {
  /** `onPreview`: something to show while it opens, reported before it resolves. */
  open(workspaceId: string, onPreview: (preview: P) => void): Promise<S>;
  /** Makes a brand-new workspace (fresh id, seeded once, here). */
  create(): Promise<{ session: S; noteId: string }>;
}

/**
 * Holds at most one open workspace session and switches between them one step
 * at a time: the old session (its Replica, socket and IndexedDB handle) is
 * closed before the next opens, and when a person clicks through several
 * workspaces quickly only the last one is opened. React renders from `state`
 * via `subscribe`, which is why this lives outside components: effects may
 * run twice, the controller makes repeated requests harmless.
 */
export class WorkspaceController<S extends ClosableSession, P = unknown> {
  readonly #factory: SessionFactory<S, P>;
  readonly #listeners = new Set<() => void>();
  #state: ControllerState<S, P> = { phase: 'idle' };
  #session: S | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  /** The latest request; queued work for any older request is skipped. */
  #ticket = 0;
  #pending: { key: string; promise: Promise<unknown> } | null = null;

  constructor(factory: SessionFactory<S, P>) {
    this.#factory = factory;
  }

  /** The current state; a new object whenever something changed (safe for useSyncExternalStore). */
  get state(): ControllerState<S, P> {
    return this.#state;
  }

  /** Calls `listener` after every state change; returns an unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Makes `workspaceId` the open workspace. Resolves with its session, or with
   * `null` when a later request superseded this one; rejects if opening failed
   * (the state then says why).
   */
  open(workspaceId: string): Promise<S | null> {
    if (this.#session?.workspaceId === workspaceId && this.#pending === null) {
      return Promise.resolve(this.#session);
    }
    const key = `open:${workspaceId}`;
    if (this.#pending?.key === key) return this.#pending.promise as Promise<S | null>;
    return this.#enqueue(key, workspaceId, async (ticket) => {
      if (this.#session?.workspaceId === workspaceId) return this.#session;
      return this.#factory.open(workspaceId, (preview) => {
        const state = this.#state;
        if (ticket !== this.#ticket || state.phase !== 'opening') return;
        if (state.workspaceId !== workspaceId) return;
        this.#setState({ phase: 'opening', workspaceId, preview });
      });
    });
  }

  /** Creates a new workspace and makes it the open one; resolves with its session and welcome note. */
  create(): Promise<{ session: S; noteId: string } | null> {
    if (this.#pending?.key === 'create') {
      return this.#pending.promise as Promise<{ session: S; noteId: string } | null>;
    }
    let noteId = '';
    const promise = this.#enqueue('create', null, async () => {
      const created = await this.#factory.create();
      noteId = created.noteId;
      return created.session;
    }).then((session) => (session ? { session, noteId } : null));
    if (this.#pending?.key === 'create') this.#pending.promise = promise;
    return promise;
  }

  /** Closes the open session (page unload, tests). */
  close(): Promise<void> {
    this.#ticket++;
    this.#pending = null;
    const done = this.#queue.then(async () => {
      await this.#closeCurrent();
      this.#setState({ phase: 'idle' });
    });
    this.#queue = done.catch(() => undefined);
    return done;
  }

  #enqueue(
    key: string,
    workspaceId: string | null,
    make: (ticket: number) => Promise<S>,
  ): Promise<S | null> {
    const ticket = ++this.#ticket;
    this.#setState({ phase: 'opening', workspaceId });
    const run = async (): Promise<S | null> => {
      if (ticket !== this.#ticket) return null;
      if (this.#session && this.#session.workspaceId !== workspaceId) await this.#closeCurrent();
      let session: S;
      try {
        session = await make(ticket);
      } catch (error) {
        if (ticket === this.#ticket) {
          this.#setState({ phase: 'error', workspaceId, message: describe(error) });
        }
        throw error;
      }
      if (ticket !== this.#ticket) {
        // Superseded while opening: nobody will show it, so do not keep it open.
        if (session !== this.#session) await session.close();
        return null;
      }
      this.#session = session;
      this.#setState({ phase: 'ready', session });
      return session;
    };
    const promise = this.#queue.then(run);
    const entry = { key, promise: promise as Promise<unknown> };
    this.#pending = entry;
    this.#queue = promise.catch(() => undefined);
    void promise
      .finally(() => {
        if (this.#pending === entry) this.#pending = null;
      })
      .catch(() => undefined);
    return promise;
  }

  async #closeCurrent(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    this.#session = null;
    try {
      await session.close();
    } catch (error) {
      // A failed close must not strand the person on the old workspace.
      console.error(`Closing workspace ${session.workspaceId} failed`, error);
    }
  }

  #setState(state: ControllerState<S, P>): void {
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
