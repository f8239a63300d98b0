import { NoteStore, newId, noteDocName } from '@lattice/notes';
import {
  type DocHandle,
  IndexedDbStorage,
  Replica,
  type ReplicaOptions,
  type StorageAdapter,
} from '@lattice/replication';
import type { AuthApi } from './AuthApi.ts';
import { ClusterWatcher, type ClusterWatcherOptions } from './ClusterWatcher.ts';
import { DeferredStorage, type SummarizingStorage } from './DeferredStorage.ts';
import { ListSnapshotKeeper } from './ListSnapshotKeeper.ts';
import {
  decodeListSnapshot,
  LIST_SNAPSHOT_META_KEY,
  type ListMarker,
  type ListSnapshot,
  localStorageMarker,
} from './listSnapshot.ts';
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

/**
 * Longest that background docs wait for the first screen (`settleStartup`)
 * before they sync anyway: a screen that never reports must not stop sync.
 */
export const STARTUP_HOLD_MAX_MS = 2000;

/** What can be shown of a workspace while it opens (`WorkspaceSessionOptions.onPreview`). */
export interface OpeningPreview {
  /** The list this device showed last. */
  snapshot: ListSnapshot;
  /**
   * Opens a note that list holds (null for any other): its doc, read while
   * the index doc loads, held by the session until `settleStartup`. The note
   * at the URL is already being opened when the preview is reported.
   */
  openNote(noteId: string): Promise<DocHandle> | null;
}

/** How a session reaches storage and the network; defaults suit the browser. */
export interface WorkspaceSessionOptions {
  /** Relay endpoints (`ws(s)://host/sync`); empty = this device only. */
  relays: string[];
  /**
   * Opens the workspace's storage; default `IndexedDbStorage.open('lattice:' + workspaceId)`.
   * The replica is built (and connects) while it opens, so its shape must be known up front.
   */
  openStorage?: (workspaceId: string) => Promise<SummarizingStorage>;
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
  /**
   * Called (at most once, before `open` resolves) with the list this device
   * last showed, when its snapshot is known to be the latest (`listSnapshot.ts`):
   * the app paints it while the index doc is read.
   */
  onPreview?: (preview: OpeningPreview) => void;
  /** Where the list snapshot's marker lives (default localStorage; null: no snapshot kept). */
  listMarker?: ListMarker | null;
  /**
   * The note the app opens first (the URL's): when the painted snapshot lists it,
   * its doc is loaded alongside the index doc instead of after it.
   */
  noteId?: string | null;
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
  readonly #releaseBackground: () => void;
  readonly #listKeeper: ListSnapshotKeeper | null;
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
    releaseBackground: () => void,
    listKeeper: ListSnapshotKeeper | null,
  ) {
    this.#releaseBackground = releaseBackground;
    this.#listKeeper = listKeeper;
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
    // Not awaited here: the replica's socket connects and says hello while a new
    // database is created (bench `coldload`, fresh device); `open` still fails with it.
    const storage = new DeferredStorage(openStorage(workspaceId));
    const marker = options.listMarker === undefined ? localStorageMarker() : options.listMarker;
    let replica: Replica | undefined;
    // Held until the first screen settles, when the note pane holds its own handle.
    const prefetched = new Map<string, Promise<DocHandle>>();
    let prefetching = true;
    const { noteId, onPreview } = options;
    // Read first, before the replica's start-up reads queue up in the same database.
    // Not for a link's session token: it may demand more than this device ever showed.
    const preview = readPreview(
      workspaceId,
      storage,
      marker,
      onPreview === undefined || options.sessionToken !== undefined
        ? null
        : (snapshot) => {
            const openNote = (id: string) => {
              // Listed in the latest list this device showed: not purged since.
              if (!replica || !prefetching || !snapshot.notes.some((n) => n.id === id)) {
                return null;
              }
              let handle = prefetched.get(id);
              if (handle === undefined) {
                handle = replica.open(noteDocName(workspaceId, id));
                handle.catch(() => undefined);
                prefetched.set(id, handle);
              }
              return handle;
            };
            if (noteId) void openNote(noteId);
            onPreview({ snapshot, openNote });
          },
    );
    const releasePrefetch = () => {
      prefetching = false;
      for (const held of prefetched.values()) {
        held.then(
          (handle) => handle.release(),
          () => undefined,
        );
      }
      prefetched.clear();
    };
    let releaseBackground = () => {};
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
      // Background docs sync once the first screen is up (`settleStartup`): one sync
      // exchange per note doc competed with the list and the opened note (bench `coldload`).
      const release = replica.holdBackground();
      // The cap does not release the prefetched note: a preview may still show it.
      const cap = setTimeout(release, STARTUP_HOLD_MAX_MS);
      releaseBackground = () => {
        clearTimeout(cap);
        release();
        releasePrefetch();
      };
      let notice: string | null = null;
      if (options.sessionToken !== undefined) {
        try {
          replica.importSession(options.sessionToken);
        } catch (error) {
          notice = `The link's reading record could not be used (${error instanceof Error ? error.message : String(error)}); notes open without it.`;
        }
      }
      await storage.ready;
      const store = await NoteStore.open({
        workspaceId,
        source: replica,
        ...(options.now ? { now: options.now } : {}),
      });
      const meta = replica;
      const listKeeper =
        marker === null
          ? null
          : new ListSnapshotKeeper({
              workspaceId,
              store,
              marker,
              write: (bytes) => meta.setMeta(LIST_SNAPSHOT_META_KEY, bytes),
              painted: preview.settle(),
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
        releaseBackground,
        listKeeper,
      );
    } catch (error) {
      preview.settle();
      releaseBackground();
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

  /**
   * The first screen is up (the list, and the note being opened if any): the
   * notes' background sync may start. Idempotent; happens by itself after
   * `STARTUP_HOLD_MAX_MS`.
   */
  settleStartup(): void {
    this.#releaseBackground();
  }

  /** Stops syncing and releases the socket and database; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#releaseBackground();
      this.cluster?.stop();
      this.access.stop();
      this.#listKeeper?.close();
      this.store.close();
      await this.replica.destroy();
      // The Replica may or may not close the storage it was given; closing twice is harmless here.
      await this.#storage.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}

/**
 * Reads the list snapshot and hands it to `paint` if it is the latest list
 * this device showed. `settle()` (once the store is open) says which
 * snapshot was painted; one read after that is not painted at all.
 */
function readPreview(
  workspaceId: string,
  storage: StorageAdapter,
  marker: ListMarker | null,
  paint: ((snapshot: ListSnapshot) => void) | null,
): { settle(): ListSnapshot | null } {
  let settled = false;
  let painted: ListSnapshot | null = null;
  const settle = () => {
    settled = true;
    return painted;
  };
  if (marker === null || paint === null) return { settle };
  if (marker.read(workspaceId) === null) return { settle };
  storage.getMeta(LIST_SNAPSHOT_META_KEY).then(
    (bytes) => {
      const snapshot = decodeListSnapshot(bytes);
      if (settled || snapshot === null || snapshot.notes.length === 0) return;
      // Read now, not before the request: a tab may have shown a later list meanwhile.
      if (marker.read(workspaceId) !== snapshot.token) return;
      painted = snapshot;
      paint(snapshot);
    },
    () => undefined,
  );
  return { settle };
}
