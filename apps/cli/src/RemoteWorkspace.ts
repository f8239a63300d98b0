import { NoteStore } from '@lattice/notes';
import {
  MemoryStorage,
  Replica,
  type ReplicaAccess,
  WebSocketTransport,
} from '@lattice/replication';
import { WebSocket } from 'ws';
import { relayUrls } from './args.ts';
import { CliError } from './CliError.ts';
import type { Progress } from './Progress.ts';

const NodeWebSocket = WebSocket as unknown as typeof globalThis.WebSocket;

/** Options of `RemoteWorkspace.open`. */
export interface RemoteOptions {
  relay: string;
  workspace: string;
  token: string | null;
  timeoutMs: number;
  progress: Progress;
}

/**
 * A workspace as the CLI sees it: a `Replica` on memory storage synced with
 * one relay over the real protocol, and a `NoteStore` on it. Every wait ends
 * in a `CliError` when the relay is unreachable, refuses the token, or does
 * not answer within the timeout.
 */
export class RemoteWorkspace {
  readonly replica: Replica;
  readonly store: NoteStore;
  readonly #timeoutMs: number;
  readonly #relay: string;
  /** The replica's latest error without a caller (e.g. why a connection failed), for messages. */
  readonly #errors: { last: Error | null };

  private constructor(
    replica: Replica,
    store: NoteStore,
    options: RemoteOptions,
    errors: { last: Error | null },
  ) {
    this.replica = replica;
    this.store = store;
    this.#timeoutMs = options.timeoutMs;
    this.#relay = options.relay;
    this.#errors = errors;
  }

  /** Connects, and resolves once the index and every note doc are synced with the relay. */
  static async open(options: RemoteOptions): Promise<RemoteWorkspace> {
    const urls = relayUrls(options.relay, options.token);
    await preflight(urls.http, options.timeoutMs);
    const errors: { last: Error | null } = { last: null };
    const replica = new Replica({
      storage: new MemoryStorage(),
      relays: [urls.sync],
      transportFactory: (url) => new WebSocketTransport(url, NodeWebSocket),
      onError: (error) => {
        errors.last = error;
      },
    });
    let store: NoteStore;
    try {
      store = await NoteStore.open({ workspaceId: options.workspace, source: replica });
    } catch (error) {
      await replica.destroy();
      throw error;
    }
    const remote = new RemoteWorkspace(replica, store, options, errors);
    try {
      await remote.#synced(options.progress);
    } catch (error) {
      await remote.close();
      throw error;
    }
    return remote;
  }

  /** The relay's role for our token (after sync); `null` with access control off. */
  get role(): ReplicaAccess['role'] {
    return this.replica.access.role;
  }

  /** Resolves once the relay acknowledged every local change as durable. */
  async whenAcked(progress: Progress): Promise<void> {
    this.store.flush();
    progress.note('waiting for the relay to store every change durably…');
    await this.#within(this.replica.whenAcked(), 'acknowledge the import');
  }

  async close(): Promise<void> {
    this.store.close();
    await this.replica.destroy();
  }

  /**
   * Waits until nothing is left to exchange. Note docs are tracked as the
   * index arrives, so one `whenSynced` may come before they subscribe: wait
   * until the workspace stays synced across a pause.
   */
  async #synced(progress: Progress): Promise<void> {
    const ticker = setInterval(() => {
      const { synced, total } = this.replica.progress;
      if (total > 0) progress.note(`syncing: ${synced}/${total} docs`);
    }, 1000);
    try {
      for (let stable = 0; stable < 2; ) {
        await this.#within(this.replica.whenSynced(), 'sync the workspace');
        await new Promise((resolve) => setTimeout(resolve, 50));
        stable = this.replica.status.state === 'synced' ? stable + 1 : 0;
      }
    } finally {
      clearInterval(ticker);
    }
  }

  /** `promise`, or a `CliError` on an access problem or after the timeout. */
  async #within<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unsubscribe = () => {};
    const failure = new Promise<never>((_, reject) => {
      const check = (access: ReplicaAccess) => {
        if (access.problem !== null) reject(accessError(access));
      };
      check(this.replica.access);
      unsubscribe = this.replica.onAccessChange(check);
      timer = setTimeout(() => {
        const last = this.#errors.last;
        const cause = last === null ? '' : ` (last error: ${last.message})`;
        reject(
          new CliError(
            `the relay at ${this.#relay} did not ${what} within ${this.#timeoutMs / 1000} s${cause}`,
          ),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([promise, failure]);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }
}

function accessError(access: ReplicaAccess): CliError {
  const reason = access.reason === '' ? '' : ` (${access.reason})`;
  switch (access.problem) {
    case 'unauthorized':
      return new CliError(
        `the relay refused the token (4401 unauthorized)${reason}: pass a valid --token or --token-file`,
      );
    case 'forbidden':
      return new CliError(
        `the token does not give access to this workspace (4403 forbidden)${reason}`,
      );
    case 'expired':
      return new CliError(`the token has expired (4419)${reason}: ask for a new one`);
    default:
      return new CliError(`the relay refused access${reason}`);
  }
}

/** Fails fast, with the network error, when nothing answers HTTP at the relay's address. */
async function preflight(origin: string, timeoutMs: number): Promise<void> {
  try {
    const response = await fetch(`${origin}/api/auth`, {
      signal: AbortSignal.timeout(Math.min(timeoutMs, 15_000)),
    });
    await response.body?.cancel();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach the relay at ${origin}: ${detail}`);
  }
}
