import { NOTES_MAP } from '@lattice/notes/schema';
import { type RelayLog, type StorageAdapter, SYSTEM_DOC_PREFIX } from '@lattice/replication';
import * as Y from 'yjs';
import type { LevelStorage } from '../LevelStorage.ts';
import { authorsBetween, clocksOf, contentDigest, docFromUpdates, titleIn } from './docState.ts';
import { HistoryStore, type VersionMeta, type VersionReason } from './HistoryStore.ts';
import {
  checkRetention,
  DEFAULT_RETENTION,
  HOUR_MS,
  type RetentionPolicy,
  versionsToDrop,
} from './retention.ts';

/** Options of the relay's version history (`RelayOptions.history`). */
export interface HistoryOptions {
  /**
   * A doc that changed gets a new version this long after its first change
   * since its last version (default 5 min). Versions are also taken before a
   * purge and, for every changed doc, when the relay shuts down.
   */
  intervalMs?: number;
  /** What to keep (default `DEFAULT_RETENTION`). */
  retention?: RetentionPolicy;
  /** Retention runs over every doc this often, besides after each new version (default 1 h). */
  sweepIntervalMs?: number;
  /** Clock (ms epoch); tests pass their own. */
  now?: () => number;
}

export const DEFAULT_HISTORY_INTERVAL_MS = 5 * 60_000;
/** An index doc's mirror (for purge detection) is dropped after this long without writes. */
const MIRROR_IDLE_MS = 60_000;

interface Pending {
  docs: Set<string>;
  timer: ReturnType<typeof setTimeout>;
}

interface Mirror {
  doc: Promise<Y.Doc>;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** The workspace a doc belongs to (its first name segment), or `null` for the relays' own docs. */
export function workspaceOf(docName: string): string | null {
  if (docName.startsWith(SYSTEM_DOC_PREFIX)) return null;
  const slash = docName.indexOf('/');
  return slash === -1 ? docName : docName.slice(0, slash);
}

/** The note id of a note doc (`<workspace>/<noteId>`), else `null`. */
function noteIdOf(docName: string): string | null {
  const parts = docName.split('/');
  return parts.length === 2 && parts[1] !== '' ? (parts[1] as string) : null;
}

/**
 * Takes versions of workspace docs: on a schedule after changes, before a
 * purge (an update that removes an index entry), and at shutdown; thins
 * them by the retention policy. It sees every stored update through
 * `RecordingStorage` (so clients' and peers' writes alike), and reads doc
 * states from storage, never from the rooms: a room's load state does not
 * matter and the relay core stays untouched. All snapshot work runs one
 * task at a time.
 */
export class HistoryRecorder {
  readonly store: HistoryStore;
  readonly #storage: StorageAdapter;
  readonly #log: RelayLog;
  readonly #intervalMs: number;
  readonly #retention: RetentionPolicy;
  readonly #now: () => number;
  readonly #pending = new Map<string, Pending>();
  readonly #mirrors = new Map<string, Mirror>();
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  #chain: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | null = null;

  constructor(storage: LevelStorage, options: HistoryOptions = {}, log: RelayLog = () => {}) {
    const intervalMs = options.intervalMs ?? DEFAULT_HISTORY_INTERVAL_MS;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
      throw new RangeError(`history intervalMs must be a positive number, got ${intervalMs}`);
    }
    const sweepIntervalMs = options.sweepIntervalMs ?? HOUR_MS;
    if (!(Number.isFinite(sweepIntervalMs) && sweepIntervalMs > 0)) {
      throw new RangeError(
        `history sweepIntervalMs must be a positive number, got ${sweepIntervalMs}`,
      );
    }
    const retention = options.retention ?? DEFAULT_RETENTION;
    checkRetention(retention);
    this.store = new HistoryStore(storage);
    this.#storage = storage;
    this.#log = log;
    this.#intervalMs = intervalMs;
    this.#retention = retention;
    this.#now = options.now ?? Date.now;
    this.#sweepTimer = setInterval(() => {
      void this.#enqueue(() => this.sweep());
    }, sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Called after `docName`'s updates were stored: a version is due after the interval. */
  changed(docName: string): void {
    if (this.#closing !== null) return;
    const ws = workspaceOf(docName);
    if (ws === null) return;
    const pending = this.#pending.get(ws);
    if (pending !== undefined) {
      pending.docs.add(docName);
      return;
    }
    const timer = setTimeout(() => {
      this.#pending.delete(ws);
      void this.#enqueue(() => this.#snapshotAll(ws, docs, 'scheduled'));
    }, this.#intervalMs);
    const docs = new Set([docName]);
    this.#pending.set(ws, { docs, timer });
  }

  /**
   * Called before `updates` of `docName` are stored. For an index doc, an
   * update that removes entries (a purge) first gets versions of the index
   * and of each removed note taken from what is stored now, i.e. before it.
   * Never throws: history must not cost a write.
   */
  async beforeAppend(docName: string, updates: readonly Uint8Array[]): Promise<void> {
    if (this.#closing !== null || !docName.length || docName.includes('/')) return;
    if (workspaceOf(docName) === null) return;
    try {
      const removed = await this.#applyToMirror(docName, updates);
      if (removed.length > 0) await this.#enqueue(() => this.#beforePurge(docName, removed));
    } catch (err) {
      this.#log('history.purge_check_failed', { doc: docName, error: errorText(err) });
    }
  }

  /** Takes a version of every doc changed since its last one, now (tests, shutdown). */
  flush(reason: VersionReason = 'scheduled'): Promise<void> {
    const all = [...this.#pending];
    this.#pending.clear();
    const work = all.map(([ws, pending]) => {
      clearTimeout(pending.timer);
      return this.#enqueue(() => this.#snapshotAll(ws, pending.docs, reason));
    });
    return Promise.all(work).then(() => undefined);
  }

  /** Versions of every changed doc, then stops; call before the storage closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweepTimer);
      for (const mirror of this.#mirrors.values()) clearTimeout(mirror.idle);
      this.#mirrors.clear();
      const all = [...this.#pending];
      this.#pending.clear();
      for (const [ws, pending] of all) {
        clearTimeout(pending.timer);
        void this.#enqueue(() => this.#snapshotAll(ws, pending.docs, 'shutdown'));
      }
      await this.#enqueue(async () => {});
    })();
    return this.#closing;
  }

  /** Applies the retention policy to every doc's versions. */
  async sweep(): Promise<void> {
    for (const docName of await this.#storage.list('')) {
      if (workspaceOf(docName) === null) continue;
      await this.#applyRetention(docName);
    }
  }

  /** Runs `task` after every task queued before it; a failure is logged, never thrown at the queue. */
  #enqueue<T>(task: () => Promise<T>): Promise<T | undefined> {
    const run = this.#chain.then(task).catch((err: unknown) => {
      this.#log('history.task_failed', { error: errorText(err) });
      return undefined;
    });
    this.#chain = run;
    return run;
  }

  async #snapshotAll(ws: string, docs: Set<string>, reason: VersionReason): Promise<void> {
    const hasNotes = [...docs].some((d) => noteIdOf(d) !== null);
    // Titles live in the index doc: one read serves every note of the workspace.
    const index = hasNotes ? docFromUpdates((await this.#storage.load(ws)).updates) : null;
    try {
      for (const docName of docs) {
        try {
          await this.#snapshot(docName, reason, index);
        } catch (err) {
          this.#log('history.snapshot_failed', { doc: docName, error: errorText(err) });
        }
      }
    } finally {
      index?.destroy();
    }
  }

  async #beforePurge(ws: string, noteIds: readonly string[]): Promise<void> {
    const index = docFromUpdates((await this.#storage.load(ws)).updates);
    try {
      await this.#snapshot(ws, 'purge', null, index);
      for (const noteId of noteIds) {
        const version = await this.#snapshot(`${ws}/${noteId}`, 'purge', index);
        await this.store.putPurged(ws, {
          noteId,
          title: titleIn(index, noteId) ?? '',
          purgedAt: this.#now(),
        });
        this.#log('history.purge_snapshot', { doc: `${ws}/${noteId}`, version: version?.id });
      }
    } finally {
      index.destroy();
    }
  }

  /**
   * A new version of `docName` from its stored state, unless nothing
   * changed since the newest one (then that one is returned). `index`:
   * the workspace's index doc, for a note's title.
   */
  async #snapshot(
    docName: string,
    reason: VersionReason,
    index: Y.Doc | null,
    loaded?: Y.Doc,
  ): Promise<VersionMeta | undefined> {
    const doc = loaded ?? docFromUpdates((await this.#storage.load(docName)).updates);
    try {
      if (doc.store.clients.size === 0) return undefined;
      const digest = contentDigest(doc);
      const previous = await this.store.newest(docName);
      if (previous?.digest === digest) return previous;
      const state = Y.encodeStateAsUpdateV2(doc);
      const clocks = clocksOf(doc);
      const at = this.#now();
      const noteId = noteIdOf(docName);
      const meta: VersionMeta = {
        id: this.store.nextId(at),
        at,
        reason,
        authors: authorsBetween(doc, previous?.clocks ?? {}, clocks),
        size: state.byteLength,
        title: noteId === null || index === null ? null : titleIn(index, noteId),
        clocks,
        digest,
      };
      await this.store.put(docName, meta, state);
      this.#log('history.version', { doc: docName, id: meta.id, reason, bytes: meta.size });
      await this.#applyRetention(docName);
      return meta;
    } finally {
      if (loaded === undefined) doc.destroy();
    }
  }

  async #applyRetention(docName: string): Promise<void> {
    const versions = await this.store.list(docName);
    const drop = versionsToDrop(versions, this.#now(), this.#retention);
    await this.store.remove(docName, drop);
  }

  /**
   * Applies `updates` to the in-memory copy of index doc `docName` (loaded
   * from storage, i.e. before them) and returns the note ids whose entries
   * they removed.
   */
  async #applyToMirror(docName: string, updates: readonly Uint8Array[]): Promise<string[]> {
    let mirror = this.#mirrors.get(docName);
    if (mirror === undefined) {
      const loading = this.#storage.load(docName).then(({ updates }) => docFromUpdates(updates));
      mirror = { doc: loading, idle: undefined };
      this.#mirrors.set(docName, mirror);
      loading.catch(() => {
        if (this.#mirrors.get(docName) === mirror) this.#mirrors.delete(docName);
      });
    }
    const doc = await mirror.doc;
    clearTimeout(mirror.idle);
    const current = mirror;
    mirror.idle = setTimeout(() => {
      if (this.#mirrors.get(docName) !== current) return;
      this.#mirrors.delete(docName);
      doc.destroy();
    }, MIRROR_IDLE_MS);
    mirror.idle.unref();
    const removed: string[] = [];
    const notes = doc.getMap(NOTES_MAP);
    const observer = (event: Y.YMapEvent<unknown>) => {
      for (const [key, change] of event.changes.keys) {
        if (change.action === 'delete') removed.push(key);
      }
    };
    notes.observe(observer);
    try {
      for (const update of updates) Y.applyUpdate(doc, update);
    } finally {
      notes.unobserve(observer);
    }
    return removed;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
