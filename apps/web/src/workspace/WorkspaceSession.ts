import { NoteStore, newId } from '@lattice/notes';
import {
  IndexedDbStorage,
  Replica,
  type ReplicaOptions,
  type StorageAdapter,
} from '@lattice/replication';
import type { AuthApi } from './AuthApi.ts';
import { ClusterWatcher, type ClusterWatcherOptions } from './ClusterWatcher.ts';
import { withToken } from './tokens.ts';
import { WorkspaceAccess } from './WorkspaceAccess.ts';
import { WELCOME_BODY, WELCOME_TITLE } from './welcome.ts';

/**
 * Liveness for people: the badge must say "offline" soon after the link goes
 * silent (a blackholed network, a sleeping Wi-Fi): issue 3 asked for 5 s,
 * bench `heal` targets 3 s. The replica's timeout counts from the last frame
 * it heard, so detection lands 1.5–2.5 s after the silence starts; probing
 * every 1 s lets one reply go missing. Same as the library defaults, spelled
 * out so the web app's promise does not move with them.
 */
export const WEB_LIVENESS = { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2500 } as const;

/** How a session reaches storage and the network; defaults suit the browser. */
export interface WorkspaceSessionOptions {
  /** Relay endpoints (`ws(s)://host/sync`); empty = this device only. */
  relays: string[];
  /** Opens the workspace's storage; default `IndexedDbStorage.open('lattice:' + workspaceId)`. */
  openStorage?: (workspaceId: string) => Promise<StorageAdapter>;
  /** Share a BroadcastChannel with other tabs of the same workspace (default true). */
  broadcast?: boolean;
  /** Extra Replica options (tests: transport factory, timings). */
  replica?: Partial<Omit<ReplicaOptions, 'storage' | 'relays' | 'broadcastChannel'>>;
  now?: () => number;
  /**
   * A session token from a link (`Replica.exportSession`): imported before any
   * doc is opened, so this device never shows those docs older than the
   * linking session saw them. A bad token is reported in `notice`, not fatal.
   */
  sessionToken?: string;
  /**
   * Learn the relay cluster from the relay that served the app (`/api/cluster`)
   * and fail over along it; omit when the relay list was given explicitly.
   */
  cluster?: Omit<ClusterWatcherOptions, 'replica'>;
  /** The workspace's access token: every relay URL carries it as `?token=`. */
  token?: string;
  /** Access control: where to claim a workspace made here, and where to keep the token won. */
  auth?: {
    api: AuthApi | null;
    createdHere: boolean;
    saveToken(token: string): void;
  };
}

/**
 * One open workspace: its storage, its Replica (one socket, one IndexedDB
 * database) and its NoteStore. Each workspace a person holds is replicated and
 * cached on its own; switching closes one session and opens another.
 */
export class WorkspaceSession {
  readonly workspaceId: string;
  readonly replica: Replica;
  readonly store: NoteStore;
  readonly relays: readonly string[];
  /** Watches `/api/cluster` and keeps the replica's relay list current (null: fixed list). */
  readonly cluster: ClusterWatcher | null;
  /** Something about opening worth telling the person (an unreadable link token). */
  readonly notice: string | null;
  /** Token, role, refusals and the claim of a workspace made here. */
  readonly access: WorkspaceAccess;
  readonly #storage: StorageAdapter;
  #closing: Promise<void> | null = null;

  private constructor(
    workspaceId: string,
    storage: StorageAdapter,
    replica: Replica,
    store: NoteStore,
    relays: readonly string[],
    notice: string | null,
    cluster: ClusterWatcher | null,
    access: WorkspaceAccess,
  ) {
    this.access = access;
    this.workspaceId = workspaceId;
    this.cluster = cluster;
    this.notice = notice;
    this.#storage = storage;
    this.replica = replica;
    this.store = store;
    this.relays = relays;
  }

  /** Opens an existing workspace (own, or from a link). Never writes content: the relay or its creator has it. */
  static async open(
    workspaceId: string,
    options: WorkspaceSessionOptions,
  ): Promise<WorkspaceSession> {
    const openStorage =
      options.openStorage ?? ((id: string) => IndexedDbStorage.open(`lattice:${id}`));
    const storage = await openStorage(workspaceId);
    let replica: Replica | undefined;
    // The plain relay list (as configured or learned from the cluster) and the token they all get.
    const relayList = { urls: [...options.relays], token: options.token ?? null };
    const tokenized = () => relayList.urls.map((url) => withToken(url, relayList.token));
    try {
      replica = new Replica({
        ...WEB_LIVENESS,
        ...options.replica,
        storage,
        relays: tokenized(),
        ...(options.broadcast === false ? {} : { broadcastChannel: `lattice:${workspaceId}` }),
      });
      let notice: string | null = null;
      if (options.sessionToken !== undefined) {
        try {
          replica.importSession(options.sessionToken);
        } catch (error) {
          notice = `The link's reading record could not be used (${error instanceof Error ? error.message : String(error)}); notes open without it.`;
        }
      }
      const store = await NoteStore.open({
        workspaceId,
        source: replica,
        ...(options.now ? { now: options.now } : {}),
      });
      const target = replica;
      const cluster = options.cluster
        ? new ClusterWatcher({
            ...options.cluster,
            replica: {
              setRelays: (urls) => {
                relayList.urls = [...urls];
                target.setRelays(tokenized());
              },
            },
          })
        : null;
      const access = new WorkspaceAccess({
        workspaceId,
        replica,
        api: options.auth?.api ?? null,
        createdHere: options.auth?.createdHere ?? false,
        token: relayList.token,
        saveToken: (token) => options.auth?.saveToken(token),
        applyToken: (token) => {
          relayList.token = token;
          if (relayList.urls.length > 0) target.setRelays(tokenized());
        },
      });
      cluster?.start();
      access.start();
      return new WorkspaceSession(
        workspaceId,
        storage,
        replica,
        store,
        options.relays,
        notice,
        cluster,
        access,
      );
    } catch (error) {
      await replica?.destroy().catch(() => undefined);
      await storage.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Creates a new workspace on this device, with a fresh id nobody else holds,
   * and writes its welcome note. This is the only place content is seeded, so
   * two replicas never seed the same workspace.
   */
  static async create(
    options: WorkspaceSessionOptions & {
      /** A fresh id nobody else holds (default `newId()`); callers pass one to record it before seeding. */
      workspaceId?: string;
    },
  ): Promise<{ session: WorkspaceSession; noteId: string }> {
    const session = await WorkspaceSession.open(options.workspaceId ?? newId(), options);
    try {
      const noteId = await session.store.create({ title: WELCOME_TITLE, body: WELCOME_BODY });
      return { session, noteId };
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  /** Stops syncing and releases the socket and database; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.cluster?.stop();
      this.access.stop();
      this.store.close();
      await this.replica.destroy();
      // The Replica may or may not close the storage it was given; closing twice is harmless here.
      await this.#storage.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
