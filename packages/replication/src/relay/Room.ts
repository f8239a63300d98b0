import * as decoding from 'lib0/decoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { StorageAdapter } from '../ports.ts';
import {
  CloseCode,
  encodeAwarenessMessage,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  isEmptyUpdate,
  ProtocolError,
  SyncStep,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import type { CompactionGate } from './CompactionGate.ts';
import { EMPTY_FINGERPRINT, fingerprintOf } from './fingerprint.ts';
import {
  type AppendShape,
  type AwarenessEntry,
  type AwarenessLimits,
  checkAwarenessUpdate,
  DEFAULT_AWARENESS_LIMITS,
  encodeAwarenessEntries,
  takeCheckedAppendShape,
  UpdateRejectedError,
} from './updateGuard.ts';

/** One subscriber of a room: a plain y-websocket socket, or one doc of a multiplexed socket. */
export interface RoomMember {
  /** Sends one y-websocket message about this room's doc. */
  send(message: Uint8Array): void;
  /**
   * The messages numbered `seqs` (as passed to `receive`) are durable, and so
   * is `stateVector` of the room. Called once per commit, in commit order.
   */
  ack(seqs: readonly number[], stateVector: Uint8Array): void;
  /** Lattice clients only: peer relay `relayId` durably holds `stateVector` of this doc. */
  clusterAck?(relayId: string, stateVector: Uint8Array): void;
  /**
   * A peer relay's link. Its updates are integrated before they are passed
   * on, and only what was new is: in a mesh the same update arrives from
   * several peers, and forwarding copies unchecked would circulate forever.
   */
  readonly peer?: boolean;
}

/** Structured log sink shared by the relay core and its rooms. */
export type RelayLog = (event: string, fields: Record<string, unknown>) => void;

export interface RoomOptions {
  storage: StorageAdapter;
  commitWindowMs: number;
  idleUnloadMs: number;
  compactAfterUpdates: number;
  /** Shared by the relay's rooms: how many compact after a commit at once (default: no bound). */
  compactionGate?: CompactionGate;
  log: RelayLog;
  /** Called once the room has unloaded (idle, failed load, or closed); the owner forgets it. */
  onUnloaded: (room: Room) => void;
  /** Settles when an earlier incarnation of this room has finished writing; loading waits for it. */
  after?: Promise<void>;
  /**
   * Every change the doc applied (gossip pushes it to peer relays). `echo`:
   * the update also released parts held back from others, so the origin
   * has not seen all of it.
   */
  onUpdate?: (room: Room, update: Uint8Array, origin: unknown, echo: boolean) => void;
  /**
   * The doc's durable state: its fingerprint and state vector, for
   * anti-entropy. Reported after the load, before the room unloads, and when
   * `reportDurable()` is called while nothing is waiting to be stored.
   */
  onDurable?: (room: Room, fingerprint: Uint8Array, stateVector: Uint8Array) => void;
  /**
   * A commit left nothing pending and the durable state changed since it was
   * last reported: call `reportDurable()` when it is needed. Computing the
   * fingerprint walks the whole doc, and per commit it was ~10 % of the
   * relay's CPU under fan-out load (bench/README.md, "Fan-out").
   */
  onDurableChanged?: (room: Room) => void;
  /**
   * The doc's durable state vector as the relay already knows it (its
   * fingerprint index: the `fp:` records, the last report), if it does. A
   * room that has not built its doc announces it instead of decoding the
   * stored log for one. It may lag storage (a crash before its record was
   * written: a writer then resends what the relay has, which changes
   * nothing); it never runs ahead, since it is only ever taken from a doc
   * equal to what storage held, and storage only grows.
   */
  durableVector?: () => Uint8Array | undefined;
  /** Awareness bounds per member (defaults: `DEFAULT_AWARENESS_LIMITS`). */
  awarenessLimits?: AwarenessLimits;
}

type RoomState = 'new' | 'loading' | 'open' | 'unloading' | 'unloaded';

interface CommitBatch {
  updates: Uint8Array[];
  /** Seqs per member to acknowledge once the batch is durable. */
  acks: Map<RoomMember, number[]>;
  stateVector: Uint8Array;
}

const MAX_RETRY_DELAY_MS = 5000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One doc on the relay: a `Y.Doc` and its `Awareness`, loaded from storage on
 * demand, fanned out to every member, persisted with group commit (one
 * `storage.append` per commit window) and compacted when its log grows or the
 * room unloads. Content-agnostic: it never looks inside the doc.
 */
export class Room {
  readonly name: string;
  readonly #options: RoomOptions;
  /**
   * Both made on first use (`#doc`, `#awareness`): most rooms a fresh device
   * loads answer from the stored log and never need either, and each Y.Doc
   * draws its ids from the OS's random source (~10 % of the relay's CPU in a
   * fresh load of 1,000 docs) and each Awareness runs an interval timer.
   */
  #docOrNull: Y.Doc | null = null;
  #awarenessOrNull: awarenessProtocol.Awareness | null = null;
  /** Members and the awareness client ids each one controls. */
  readonly #members = new Map<RoomMember, Set<number>>();
  /** Who controls each awareness client id (the member that last set its state). */
  readonly #awarenessOwner = new Map<number, RoomMember>();
  /**
   * The stored log (merged) and its state vector while the doc is not
   * materialised, `null` once it is (see `#materialise`).
   */
  #lazy: StoredLog | null = null;
  /** The doc holds the stored log and its handlers are on. */
  #docReady = false;
  /**
   * Live appends (`#appendLive`): client updates taken into the log of a room
   * without a doc since `#lazy.update` was last merged, and the log's state
   * vector as a map (`null` until the first one), encoded into
   * `#lazy.vector` only when read (`#vectorStale`).
   */
  #tail: Uint8Array[] = [];
  /** The newest entries of `#tail` that are single appends, not yet folded. */
  #unfolded = 0;
  #clocks: Map<number, number> | null = null;
  #vectorStale = false;
  /** The log gained live appends since the load: its durable state must be reported on unload. */
  #appended = false;
  /** Updates the doc emitted during the current `applyUpdate` (stored if it throws halfway). */
  #emitted: Uint8Array[] | null = null;
  #state: RoomState = 'new';
  #loading: Promise<void> | null = null;
  #unloading: Promise<void> | null = null;
  /** Entries in the storage log (a snapshot counts as one). */
  #storedCount = 0;
  /** Set by the doc's update handler so `applyUpdate` knows whether anything was new. */
  #changed = false;
  /** Set while applying an update that may release held-back parts: echo to the sender too. */
  #echo = false;
  /**
   * The doc's `update` handler, attached only while an update that was not
   * forwarded as received integrates (`#applyUpdate`, the one place the doc
   * is written once materialised): Yjs encodes a transaction's update only
   * for `update` listeners, and for a forwarded update nobody needs those
   * bytes. Attached by default, it had to come off and back on around every
   * forwarded update, the hot path (~1.5 % of a busy relay's samples).
   */
  readonly #docUpdated = (update: Uint8Array, origin: unknown): void =>
    this.#onDocUpdate(update, origin);
  /** The doc's last transaction, kept while a forwarded update integrates without `update` events. */
  #quietTransaction: Y.Transaction | null = null;
  #quiet = false;
  /** The durable state changed since `onDurable` last reported it. */
  #durableDirty = false;
  #pending: { updates: Uint8Array[]; acks: Map<RoomMember, number[]> } | null = null;
  /** Batch whose append is in flight (its acks are not sent yet). */
  #inflight: CommitBatch | null = null;
  /** Settles (true on success) when the current append (and any compaction after it) ends. */
  #busy: Promise<boolean> | null = null;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelayMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Updates ever queued for commit, and how many of them are durable (commits keep their order). */
  #enqueued = 0;
  #committed = 0;

  constructor(name: string, options: RoomOptions) {
    this.name = name;
    this.#options = options;
  }

  get #doc(): Y.Doc {
    this.#docOrNull ??= new Y.Doc();
    return this.#docOrNull;
  }

  get #awareness(): awarenessProtocol.Awareness {
    if (this.#awarenessOrNull === null) {
      const awareness = new awarenessProtocol.Awareness(this.#doc);
      // The relay is not a participant: it must not announce an awareness state of its own.
      awareness.setLocalState(null);
      awareness.on('update', (change: AwarenessChange, origin: unknown) =>
        this.#onAwarenessUpdate(change, origin),
      );
      this.#awarenessOrNull = awareness;
    }
    return this.#awarenessOrNull;
  }

  /** `true` while members may join (loaded, not unloading). */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** `true` until the room has started unloading; a closing room must not be reused. */
  get isUsable(): boolean {
    return this.#state === 'new' || this.#state === 'loading' || this.#state === 'open';
  }

  get memberCount(): number {
    return this.#members.size;
  }

  /** Entries in the storage log, as far as this room knows. */
  get storedUpdates(): number {
    return this.#storedCount;
  }

  /**
   * The live doc (read it; never write to it directly, writes would not be
   * stored). Reading it materialises the doc from the stored log (and throws
   * when that log cannot be applied).
   */
  get doc(): Y.Doc {
    this.#materialise();
    return this.#doc;
  }

  /** `false` while the room answers from its stored log, without a doc (see `#materialise`). */
  get isMaterialised(): boolean {
    return this.#docReady;
  }

  /** The room's state vector: what it holds (stored or applied), without materialising the doc. */
  stateVector(): Uint8Array {
    const lazy = this.#lazy;
    if (lazy === null) return Y.encodeStateVector(this.#doc);
    if (this.#vectorStale && this.#clocks !== null) {
      lazy.vector = Y.encodeStateVector(this.#clocks);
      this.#vectorStale = false;
    }
    return lazy.vector;
  }

  /** Loads the doc from storage; every caller shares one load. Rejects when stored data is unusable. */
  load(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  async #load(): Promise<void> {
    this.#state = 'loading';
    try {
      await this.#options.after;
      const stored = await this.#options.storage.load(this.name);
      // Not applied yet: most rooms a new subscriber loads (a fresh device
      // pulls every doc of a workspace) only ever answer its SyncStep1, and
      // the stored log is that answer. Integrating it into a Y.Doc was most of
      // the relay's work per doc (bench/README.md, "Cold load", fourth round).
      // Without a known vector, decoding the log for one refuses unreadable data here.
      if (stored.updates.length > 0) {
        try {
          const update =
            stored.updates.length === 1
              ? (stored.updates[0] as Uint8Array)
              : Y.mergeUpdates(stored.updates);
          const known = this.#options.durableVector?.();
          this.#lazy = { update, vector: known ?? Y.encodeStateVectorFromUpdate(update) };
        } catch (err) {
          throw new Error(`stored updates of ${this.name} are corrupt: ${errorMessage(err)}`);
        }
      } else {
        // A new doc: live appends may fill its log without a doc (`#appendLive`).
        this.#lazy = { update: EMPTY_UPDATE, vector: EMPTY_VECTOR };
      }
      this.#storedCount = stored.updates.length;
    } catch (err) {
      this.#state = 'unloaded';
      this.#docOrNull?.destroy();
      this.#options.log('room.load_failed', { doc: this.name, error: errorMessage(err) });
      this.#options.onUnloaded(this);
      throw err;
    }
    this.#state = 'open';
    this.#options.log('room.loaded', { doc: this.name, storedUpdates: this.#storedCount });
    // An empty log has nothing to defer. A lazy room's durable state is
    // reported when the relay's index is next read (`reportDurable`: peer
    // digests, lag), which builds the doc then, or when it materialises. So a
    // fingerprint record that lags storage (a crash before it was written) is
    // still corrected before any digest uses it, as when loads reported.
    if (this.#lazy === null) this.#materialise();
    else if (this.#lazy.update === EMPTY_UPDATE) this.#reportDurable();
    else {
      this.#durableDirty = true;
      this.#durableChanged();
    }
    if (this.#members.size === 0) this.#scheduleIdle();
  }

  /**
   * Builds the doc from the stored log, once: before anything that reads or
   * changes the doc's content (a non-empty update, a compaction, `doc`).
   * SyncStep1 answers, state vectors, acks and awareness do not need it.
   */
  #materialise(): void {
    if (this.#docReady) return;
    const lazy = this.#lazy;
    if (lazy !== null && (lazy.update !== EMPTY_UPDATE || this.#tail.length > 0)) {
      try {
        Y.applyUpdate(this.#doc, this.#mergedLog(lazy).update);
      } catch (err) {
        // The log stays the room's truth (answers keep coming from it); writes,
        // which need the doc, fail until the stored data is repaired.
        throw new Error(`stored updates of ${this.name} are corrupt: ${errorMessage(err)}`);
      }
    }
    this.#lazy = null;
    this.#tail = [];
    this.#unfolded = 0;
    this.#clocks = null;
    this.#vectorStale = false;
    this.#docReady = true;
    this.#doc.on('afterTransaction', (transaction: Y.Transaction) => {
      if (this.#quiet) this.#quietTransaction = transaction;
    });
    this.#reportDurable();
  }

  /** Adds a member (after `load` resolved). Live updates and awareness changes reach it from now on. */
  join(member: RoomMember): void {
    if (this.#state !== 'open') throw new Error(`room ${this.name} is not open`);
    if (this.#members.has(member)) return;
    this.#members.set(member, new Set());
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  /** Removes a member and the awareness states it controlled (telling the others). */
  leave(member: RoomMember): void {
    const controlled = this.#members.get(member);
    if (controlled === undefined) return;
    this.#members.delete(member);
    for (const id of controlled) {
      if (this.#awarenessOwner.get(id) === member) this.#awarenessOwner.delete(id);
    }
    const awareness = this.#awarenessOrNull;
    if (controlled.size > 0 && this.#state === 'open' && awareness !== null) {
      awarenessProtocol.removeAwarenessStates(awareness, [...controlled], 'leave');
    }
    if (this.#members.size === 0 && this.#state === 'open') this.#scheduleIdle();
  }

  /** A `SyncStep1` message carrying the room's state vector. */
  syncStep1(): Uint8Array {
    return encodeSyncStep1(this.stateVector());
  }

  /** An `Awareness` message with every known state, or `undefined` when nobody is present. */
  awarenessStates(): Uint8Array | undefined {
    if (this.#awarenessOrNull === null) return undefined;
    const clients = [...this.#awarenessOrNull.getStates().keys()];
    if (clients.length === 0) return undefined;
    return encodeAwarenessMessage(
      awarenessProtocol.encodeAwarenessUpdate(this.#awareness, clients),
    );
  }

  /**
   * Handles one y-websocket message from `member` and returns the replies for
   * it. `seq` (multiplexed members only) numbers the message; it is
   * acknowledged through `member.ack` once everything the room applied up to
   * this message is durable. Throws `ProtocolError` when the payload cannot
   * be applied.
   */
  receive(member: RoomMember, message: YMessage, seq?: number): Uint8Array[] {
    if (this.#state !== 'open') throw new Error(`room ${this.name} is not open`);
    switch (message.type) {
      case YMessageType.Sync: {
        // Peer relays exchange a doc when its fingerprint differs (anti-entropy):
        // building it reports its durable state, which corrects a stale index entry.
        if (member.peer === true) this.#materialise();
        if (message.step === SyncStep.Step1) {
          let update: Uint8Array;
          try {
            const lazy = this.#lazy;
            update =
              lazy === null
                ? Y.encodeStateAsUpdate(this.#doc, message.payload)
                : diffStored(this.#mergedLog(lazy), message.payload);
          } catch (err) {
            throw new ProtocolError(`bad state vector: ${errorMessage(err)}`);
          }
          if (seq !== undefined) this.requestAck(member, seq);
          return [encodeSyncStep2(update)];
        }
        // An empty update changes nothing (a subscriber's usual answer to our
        // SyncStep1): it needs an ack, not the doc.
        if (!this.#docReady && isEmptyUpdate(message.payload)) {
          if (seq !== undefined) this.requestAck(member, seq);
          return [];
        }
        // Taken on every update, appended or not: see takeCheckedAppendShape.
        const shape = takeCheckedAppendShape(message.payload);
        if (this.#appendLive(member, message.payload, shape)) {
          if (seq !== undefined) this.requestAck(member, seq);
          return [];
        }
        this.#materialise();
        this.#applyUpdate(member, message.payload, shape !== undefined);
        if (seq !== undefined) this.requestAck(member, seq);
        return [];
      }
      case YMessageType.Awareness: {
        const entries = this.#ownedAwareness(
          member,
          checkAwarenessUpdate(message.update, this.#options.awarenessLimits),
        );
        if (entries.length === 0) return [];
        try {
          awarenessProtocol.applyAwarenessUpdate(
            this.#awareness,
            encodeAwarenessEntries(entries),
            member,
          );
        } catch (err) {
          throw new ProtocolError(`bad awareness update: ${errorMessage(err)}`);
        }
        return [];
      }
      case YMessageType.QueryAwareness: {
        const states = this.awarenessStates();
        return states === undefined ? [] : [states];
      }
      case YMessageType.Auth:
        // Permission messages only ever flow server → client; a client's is meaningless.
        return [];
    }
  }

  /**
   * The entries of an awareness update `member` may apply (and that change
   * something). Removing a client
   * another member controls is dropped silently (honest clients send those when
   * a remote state times out locally); setting one, or controlling more than
   * `maxClientsPerMember`, is spam: `UpdateRejectedError` (RateLimited).
   */
  #ownedAwareness(member: RoomMember, entries: AwarenessEntry[]): AwarenessEntry[] {
    const limit =
      this.#options.awarenessLimits?.maxClientsPerMember ??
      DEFAULT_AWARENESS_LIMITS.maxClientsPerMember;
    const controlled = this.#members.get(member) ?? new Set<number>();
    const claimed = new Set(controlled);
    const kept: AwarenessEntry[] = [];
    for (const entry of entries) {
      // What y-protocols would ignore anyway: echoes (stock y-websocket providers
      // send every state they hold back to the server) and stale states.
      const current = this.#awareness.meta.get(entry.clientId)?.clock;
      const newer =
        current === undefined ||
        current < entry.clock ||
        (current === entry.clock &&
          entry.state === 'null' &&
          this.#awareness.getStates().has(entry.clientId));
      if (!newer) continue;
      const owner = this.#awarenessOwner.get(entry.clientId);
      if (owner !== undefined && owner !== member) {
        if (entry.state === 'null') continue;
        throw new UpdateRejectedError(
          `awareness client ${entry.clientId} belongs to another connection`,
          CloseCode.RateLimited,
          'awareness_rejected',
        );
      }
      if (entry.state !== 'null') claimed.add(entry.clientId);
      kept.push(entry);
    }
    if (claimed.size > limit) {
      throw new UpdateRejectedError(
        `more than ${limit} awareness clients on one connection`,
        CloseCode.RateLimited,
        'awareness_rejected',
      );
    }
    return kept;
  }

  /**
   * Takes a client's update into the log of a room that has no doc, without
   * integrating it: forwarded as received, stored with the next group
   * commit, acked after it, and counted in the log's state vector. Yjs's
   * per-update transaction was the largest item of a relay that only stores
   * and forwards (bench/README.md, "Fan-out", seventh round); the doc is
   * built from the log when something needs it (a peer relay's sync, a
   * read-only client's reply, `doc`, the index's fingerprint, unload).
   *
   * Only for an update the session's update guard passed (so Yjs's decoder
   * reads it) whose every client section starts exactly at the log's clock
   * for that client (all new, no gap), that has no skips, whose items refer
   * to other clients' clocks the log already holds (references to their own
   * client's later clocks the guard refuses). Such an update integrates
   * without pending parts, and without the lookups of missing structs that
   * make Yjs throw, so the log stays loadable, and the vector counted here is what the doc built
   * from the log reports. Anything else builds the doc and goes through
   * `#applyUpdate`, as before. The log's vector never runs ahead of what it
   * holds, so a section starting at it never leaves a gap.
   */
  #appendLive(member: RoomMember, update: Uint8Array, shape: AppendShape | undefined): boolean {
    const lazy = this.#lazy;
    if (lazy === null || member.peer === true || shape === undefined) return false;
    this.#clocks ??= Y.decodeStateVector(this.stateVector());
    const clocks = this.#clocks;
    const { sections, deps, deletes } = shape;
    for (let i = 0; i < sections.length; i += 3) {
      if ((clocks.get(sections[i] as number) ?? 0) !== sections[i + 1]) return false;
    }
    for (let i = 0; i < deps.length; i += 2) {
      if ((deps[i + 1] as number) >= (clocks.get(deps[i] as number) ?? 0)) return false;
    }
    // Deletions only of what the log holds once this update is in: Yjs would
    // keep others pending, which the counted vector could not show.
    for (let i = 0; i < deletes.length; i += 2) {
      if ((deletes[i + 1] as number) > clockAfter(sections, clocks, deletes[i] as number)) {
        return false;
      }
    }
    this.#fanOut(update, member, false);
    for (let i = 0; i < sections.length; i += 3) {
      clocks.set(sections[i] as number, sections[i + 2] as number);
    }
    this.#vectorStale = true;
    this.#appended = true;
    // A copy: the received bytes are a view into the socket's read buffer,
    // which the log would otherwise keep alive until its next merge.
    this.#tail.push(update.slice());
    // Many small buffers cost more memory than the doc they replace (the soak
    // test's RSS bound caught it): fold the newest ones into one now and then.
    // Only those: folding into a growing chunk, or into the log's update,
    // costs its size per fold (quadratic over a busy doc; bench `ingest`).
    if (++this.#unfolded >= MAX_TAIL) {
      const fresh = this.#tail.splice(this.#tail.length - this.#unfolded);
      this.#tail.push(Y.mergeUpdates(fresh));
      this.#unfolded = 0;
    }
    // Answers cached for the log before this update are out of date.
    delete lazy.covering;
    delete lazy.deletesOnly;
    this.#enqueue(update);
    return true;
  }

  /** `lazy` with the live appends merged into its update (once per read, not per append). */
  #mergedLog(lazy: StoredLog): StoredLog {
    if (this.#tail.length > 0) {
      const parts = lazy.update === EMPTY_UPDATE ? this.#tail : [lazy.update, ...this.#tail];
      lazy.update = parts.length === 1 ? (parts[0] as Uint8Array) : Y.mergeUpdates(parts);
      this.#tail = [];
      this.#unfolded = 0;
    }
    return lazy;
  }

  #applyUpdate(member: RoomMember, update: Uint8Array, walked: boolean): void {
    this.#changed = false;
    this.#emitted = [];
    const store = this.#doc.store;
    // If this update unblocks parts held back from other senders, the doc's
    // update event carries those too, and the sender has not seen them.
    this.#echo = store.pendingStructs !== null || store.pendingDs !== null;
    // A client's update (already checked by the session: update guard, access,
    // read-only) goes on to the others as received, before the doc integrates
    // it: integrating a large diff (a partition heal: ~130 ms for 10,000 edits)
    // no longer delays it, and receivers apply in any order. The received bytes
    // cover everything the doc's update event would carry (they may also repeat
    // what the doc had: receivers ignore that). Not when parts are held back
    // here or the update starts beyond the doc's clock for a client (it would
    // be held back itself): those wait for what they need, as before. Nor
    // when the update guard did not walk it to a shape (`walked`): bytes
    // Yjs may refuse must not reach receivers, which would refuse them too.
    // Storage and acks are unchanged.
    const forwarded = walked && member.peer !== true && !this.#echo && this.#continues(update);
    if (forwarded) {
      this.#fanOut(update, member, false);
      // Its doc update event would only be dropped (it was sent on already):
      // integrate without one. Encoding that update was ~2 % of a busy
      // relay's CPU under fan-out (bench/README.md, "Fan-out", fourth round).
      // What changed is read from the transaction instead.
      this.#quiet = true;
      this.#quietTransaction = null;
    } else {
      this.#doc.on('update', this.#docUpdated);
    }
    try {
      Y.applyUpdate(this.#doc, update, member);
    } catch (err) {
      // Yjs may fail halfway (an update that is well-formed but inconsistent):
      // what it did apply is in the doc and was sent on, so it must be stored
      // too, or acks would vouch for state that is not durable.
      const applied = forwarded ? this.#quietlyApplied() : this.#emitted;
      for (const part of applied) this.#enqueue(part);
      throw new UpdateRejectedError(
        `update could not be applied: ${errorMessage(err)}`,
        CloseCode.UpdateRejected,
        'update_rejected',
      );
    } finally {
      if (forwarded) {
        this.#quiet = false;
        if (this.#quietTransaction !== null && transactionChanged(this.#quietTransaction)) {
          this.#changed = true;
        }
        this.#quietTransaction = null;
      } else {
        this.#doc.off('update', this.#docUpdated);
      }
      this.#echo = false;
      this.#emitted = null;
    }
    // Store the update as received: parts waiting for missing dependencies are
    // not in the doc's own update event yet, but they are acknowledged too.
    if (this.#changed || store.pendingStructs !== null || store.pendingDs !== null) {
      this.#enqueue(update);
    }
  }

  /**
   * Does each client's part of `update` start at or before the doc's clock
   * for that client? False for an empty update (every sync reply on connect
   * may be one): nothing to forward.
   */
  #continues(update: Uint8Array): boolean {
    if (update.length === 2 && update[0] === 0 && update[1] === 0) return false;
    const store = this.#doc.store;
    try {
      // Nearly every live update is one client's: its first clock is in the header.
      const d = decoding.createDecoder(update);
      if (decoding.readVarUint(d) === 1) {
        decoding.readVarUint(d); // structs
        const client = decoding.readVarUint(d);
        return decoding.readVarUint(d) <= Y.getState(store, client);
      }
      for (const [client, clock] of Y.parseUpdateMeta(update).from) {
        if (clock > Y.getState(store, client)) return false;
      }
      return true;
    } catch {
      // Unreadable here means Yjs will refuse it too: nothing to forward.
      return false;
    }
  }

  /**
   * What the failed quiet transaction put into the doc, as one update: the
   * structs added since its start and the doc's whole delete set (deletions
   * repeat harmlessly). Only on the rare failure path.
   */
  #quietlyApplied(): Uint8Array[] {
    const transaction = this.#quietTransaction;
    if (transaction === null || !transactionChanged(transaction)) return [];
    return [Y.encodeStateAsUpdate(this.#doc, Y.encodeStateVector(transaction.beforeState))];
  }

  #onDocUpdate(update: Uint8Array, origin: unknown): void {
    this.#changed = true;
    this.#emitted?.push(update);
    this.#fanOut(update, origin, this.#echo);
  }

  /** Sends `update` to peer relays (through `onUpdate`) and to every member but `origin` (all when `echo`). */
  #fanOut(update: Uint8Array, origin: unknown, echo: boolean): void {
    try {
      this.#options.onUpdate?.(this, update, origin, echo);
    } catch (err) {
      this.#options.log('room.on_update_failed', { doc: this.name, error: errorMessage(err) });
    }
    const message = encodeSyncUpdate(update);
    for (const member of this.#members.keys()) {
      if (member !== origin || echo) this.#deliver(member, message);
    }
  }

  /**
   * Reports the durable state through `onDurable` if it changed since the last
   * report and nothing is waiting to be stored (the doc is then exactly what
   * storage holds). Returns false when it could not (a commit is pending or in
   * flight: the next one that leaves nothing pending calls `onDurableChanged`
   * again) — the last report stays the durable truth meanwhile.
   */
  reportDurable(): boolean {
    if (!this.#durableDirty) return true;
    if (this.#pending !== null || this.#inflight !== null || this.#state === 'unloaded') {
      return false;
    }
    this.#reportDurable();
    return true;
  }

  #reportDurable(): void {
    // The fingerprint walks the doc: build it first (that reports, once built).
    if (!this.#docReady) {
      const lazy = this.#lazy;
      // A new doc's durable state is the empty doc's: no need to build one.
      if (lazy !== null && lazy.update === EMPTY_UPDATE && this.#tail.length === 0) {
        this.#durableDirty = false;
        try {
          this.#options.onDurable?.(this, EMPTY_FINGERPRINT, EMPTY_VECTOR);
        } catch (err) {
          this.#options.log('room.on_durable_failed', { doc: this.name, error: errorMessage(err) });
        }
        return;
      }
      this.#materialise();
      return;
    }
    this.#durableDirty = false;
    const onDurable = this.#options.onDurable;
    if (onDurable === undefined) return;
    try {
      onDurable(this, fingerprintOf(this.#doc), Y.encodeStateVector(this.#doc));
    } catch (err) {
      this.#options.log('room.on_durable_failed', { doc: this.name, error: errorMessage(err) });
    }
  }

  /** Tells the members that speak Lattice that peer relay `relayId` durably holds `stateVector`. */
  clusterAck(relayId: string, stateVector: Uint8Array): void {
    for (const member of this.#members.keys()) {
      if (member.clusterAck === undefined) continue;
      try {
        member.clusterAck(relayId, stateVector);
      } catch (err) {
        this.#options.log('room.deliver_failed', { doc: this.name, error: errorMessage(err) });
      }
    }
  }

  #onAwarenessUpdate(change: AwarenessChange, origin: unknown): void {
    const changed = [...change.added, ...change.updated, ...change.removed];
    const controlled = this.#members.get(origin as RoomMember);
    if (controlled !== undefined) {
      for (const id of [...change.added, ...change.updated]) {
        controlled.add(id);
        this.#awarenessOwner.set(id, origin as RoomMember);
      }
      for (const id of change.removed) {
        controlled.delete(id);
        if (this.#awarenessOwner.get(id) === origin) this.#awarenessOwner.delete(id);
      }
    }
    const message = encodeAwarenessMessage(
      awarenessProtocol.encodeAwarenessUpdate(this.#awareness, changed),
    );
    for (const member of this.#members.keys()) {
      if (member !== origin) this.#deliver(member, message);
    }
  }

  #deliver(member: RoomMember, message: Uint8Array): void {
    try {
      member.send(message);
    } catch (err) {
      this.#options.log('room.deliver_failed', { doc: this.name, error: errorMessage(err) });
    }
  }

  // ---- group commit ----

  #enqueue(update: Uint8Array): void {
    this.#pending ??= { updates: [], acks: new Map() };
    this.#pending.updates.push(update);
    this.#enqueued++;
    if (this.#commitTimer === undefined && this.#retryTimer === undefined) {
      this.#commitTimer = setTimeout(() => {
        this.#commitTimer = undefined;
        this.#seal();
      }, this.#options.commitWindowMs);
    }
  }

  /**
   * Acknowledges `seq` to `member` once everything applied so far is durable:
   * with the pending batch, behind the one in flight, or at once.
   */
  requestAck(member: RoomMember, seq: number): void {
    if (this.#state !== 'open') throw new Error(`room ${this.name} is not open`);
    const batch = this.#pending ?? this.#inflight;
    if (batch === null) {
      member.ack([seq], this.stateVector());
      return;
    }
    const seqs = batch.acks.get(member);
    if (seqs === undefined) batch.acks.set(member, [seq]);
    else seqs.push(seq);
  }

  /** Starts appending the pending batch unless an append is already running. */
  #seal(): void {
    if (this.#busy !== null || this.#pending === null) return;
    if (this.#commitTimer !== undefined) {
      clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
    const batch: CommitBatch = {
      ...this.#pending,
      // Everything applied (or appended) so far is in this batch or already stored.
      stateVector: this.stateVector(),
    };
    this.#pending = null;
    this.#inflight = batch;
    this.#busy = this.#commit(batch);
  }

  async #commit(batch: CommitBatch): Promise<boolean> {
    try {
      await this.#options.storage.append(this.name, batch.updates);
    } catch (err) {
      this.#inflight = null;
      this.#requeue(batch);
      this.#options.log('room.commit_failed', {
        doc: this.name,
        updates: batch.updates.length,
        error: errorMessage(err),
      });
      this.#busy = null;
      this.#scheduleRetry();
      return false;
    }
    this.#inflight = null;
    this.#retryDelayMs = 0;
    this.#storedCount += batch.updates.length;
    this.#committed += batch.updates.length;
    for (const [member, seqs] of batch.acks) {
      try {
        member.ack(seqs, batch.stateVector);
      } catch (err) {
        this.#options.log('room.ack_failed', { doc: this.name, error: errorMessage(err) });
      }
    }
    // With nothing pending, the doc is exactly what is stored: its fingerprint
    // is durable. Computed when someone needs it, not per commit.
    this.#durableDirty = true;
    if (this.#pending === null) this.#durableChanged();
    if (this.#storedCount > this.#options.compactAfterUpdates) {
      // Every slot taken: the log stays over the threshold, and a later commit tries again.
      const gate = this.#options.compactionGate;
      const release = gate === undefined ? () => {} : gate.tryEnter();
      if (release !== undefined) {
        try {
          await this.#compact();
        } finally {
          release();
        }
      }
    }
    this.#busy = null;
    // Updates that arrived during the append waited long enough: commit them now.
    if (this.#pending !== null && this.#retryTimer === undefined) this.#seal();
    return true;
  }

  #durableChanged(): void {
    const onDurableChanged = this.#options.onDurableChanged;
    if (onDurableChanged === undefined) {
      this.#reportDurable();
      return;
    }
    try {
      onDurableChanged(this);
    } catch (err) {
      this.#options.log('room.on_durable_failed', { doc: this.name, error: errorMessage(err) });
    }
  }

  /** Puts a failed batch back in front of the pending one so acks stay in order. */
  #requeue(batch: CommitBatch): void {
    const later = this.#pending;
    const acks = new Map(batch.acks);
    if (later !== null) {
      for (const [member, seqs] of later.acks)
        acks.set(member, [...(acks.get(member) ?? []), ...seqs]);
    }
    this.#pending = { updates: [...batch.updates, ...(later?.updates ?? [])], acks };
  }

  #scheduleRetry(): void {
    if (this.#state === 'unloaded' || this.#retryTimer !== undefined) return;
    if (this.#commitTimer !== undefined) {
      clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
    this.#retryDelayMs = Math.min(
      MAX_RETRY_DELAY_MS,
      Math.max(this.#options.commitWindowMs, this.#retryDelayMs * 2, 10),
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#seal();
    }, this.#retryDelayMs);
  }

  async #compact(): Promise<void> {
    try {
      const stored = await this.#options.storage.load(this.name);
      // The doc, or the log of a room without one, holds everything stored
      // (this room is the only writer), maybe more.
      const lazy = this.#lazy;
      const snapshot =
        lazy === null ? Y.encodeStateAsUpdate(this.#doc) : collected(this.#mergedLog(lazy));
      await this.#options.storage.compact(this.name, snapshot, stored.cursor);
      this.#options.log('room.compacted', {
        doc: this.name,
        from: stored.updates.length,
        bytes: snapshot.length,
      });
      this.#storedCount = 1;
    } catch (err) {
      this.#options.log('room.compact_failed', { doc: this.name, error: errorMessage(err) });
    }
  }

  /**
   * Resolves once every update applied so far is durable; rejects when storage
   * refuses it (the updates stay queued and are retried). Updates applied
   * after the call are not waited for: under a steady stream of writes
   * "nothing pending" may never happen, and shutdown flushes must end.
   */
  async flush(): Promise<void> {
    const target = this.#enqueued;
    while (this.#committed < target) {
      if (this.#busy !== null) {
        await this.#busy;
        continue;
      }
      if (this.#retryTimer !== undefined) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
      }
      this.#seal();
      if (!(await this.#busy)) throw new Error(`could not store updates of ${this.name}`);
    }
  }

  #scheduleIdle(): void {
    if (this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#members.size === 0 && this.#state === 'open') void this.unload(true);
    }, this.#options.idleUnloadMs);
  }

  /**
   * Stops the room: flushes pending commits, optionally compacts the log,
   * destroys the doc and reports `onUnloaded`. Members must have left.
   */
  unload(compact: boolean): Promise<void> {
    this.#unloading ??= this.#unload(compact);
    return this.#unloading;
  }

  async #unload(compact: boolean): Promise<void> {
    if (this.#loading !== null) await this.#loading.catch(() => undefined);
    if (this.#state === 'unloaded') return;
    this.#state = 'unloading';
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    try {
      await this.flush();
      if (compact && this.#storedCount > 1) {
        // The snapshot is encoded from the doc: never from one that was not built.
        this.#materialise();
        await this.#compact();
      }
    } catch (err) {
      this.#options.log('room.unload_flush_failed', { doc: this.name, error: errorMessage(err) });
    }
    // The index keeps the last durable state of an unloaded doc: report it while the doc exists.
    // A room that never built its doc and took no live appends changed
    // nothing: the index keeps what it had. Live appends build it here.
    if (this.#docReady || this.#appended) {
      try {
        this.reportDurable();
      } catch (err) {
        this.#options.log('room.unload_report_failed', {
          doc: this.name,
          error: errorMessage(err),
        });
      }
    }
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#state = 'unloaded';
    this.#members.clear();
    // Destroying the doc stops its awareness too.
    this.#docOrNull?.destroy();
    this.#options.log('room.unloaded', { doc: this.name });
    this.#options.onUnloaded(this);
  }
}

/** Yjs's own test for whether a transaction has an update to emit (`writeUpdateMessageFromTransaction`). */
function transactionChanged(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true;
  for (const [client, clock] of transaction.afterState) {
    if (transaction.beforeState.get(client) !== clock) return true;
  }
  return false;
}

/** Live appends kept apart before they are folded into the log's update. */
const MAX_TAIL = 64;

/**
 * The clock after what a log with `clocks` holds of `client` once an update
 * with these `sections` (flat triples: client, from, to) is in it.
 */
function clockAfter(sections: number[], clocks: Map<number, number>, client: number): number {
  for (let i = 0; i < sections.length; i += 3) {
    if (sections[i] === client) return sections[i + 2] as number;
  }
  return clocks.get(client) ?? 0;
}

/**
 * The log's update with deleted content dropped, as a doc would store it:
 * merged updates keep every deleted character, Yjs's GC does not. Replaces
 * the log's bytes (the same state, smaller); answers cached for the old
 * bytes stay true. Built at compaction only, which is rare.
 */
function collected(log: StoredLog): Uint8Array {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, log.update);
    log.update = Y.encodeStateAsUpdate(doc);
    return log.update;
  } finally {
    doc.destroy();
  }
}

/** The log of a new doc, and its state vector (compared by identity). */
const EMPTY_UPDATE = new Uint8Array([0, 0]);
const EMPTY_VECTOR = new Uint8Array([0]);

/** A room's stored log while it has no doc, and an answer derived from it. */
interface StoredLog {
  /** The log as one update (its only record, or the records merged). */
  update: Uint8Array;
  /** Its state vector (the index's durable one, or decoded from `update`). */
  vector: Uint8Array;
  /** A state vector whose answer held no structs, and that answer: the delete set alone. */
  covering?: Map<number, number>;
  deletesOnly?: Uint8Array;
}

/**
 * What a peer with state vector `stateVector` lacks of the stored log: the
 * structs and delete set `Y.encodeStateAsUpdate` of the doc would give. All
 * of it for an empty vector (a fresh subscriber), else `Y.diffUpdate`, which
 * reads the whole log: its answer to a vector that covers every struct (a
 * returning subscriber, usually) is the delete set alone, and is reused for
 * any vector at least as far on. Throws on an unreadable vector.
 */
function diffStored(log: StoredLog, stateVector: Uint8Array): Uint8Array {
  if (stateVector.length === 1 && stateVector[0] === 0) return log.update;
  const remote = Y.decodeStateVector(stateVector);
  if (log.covering !== undefined && log.deletesOnly !== undefined) {
    let covers = true;
    for (const [client, clock] of log.covering) {
      if ((remote.get(client) ?? 0) < clock) covers = false;
    }
    // Further on than a vector that left no structs: none again, and the same delete set.
    if (covers) return log.deletesOnly;
  }
  const answer = Y.diffUpdate(log.update, stateVector);
  // A V1 update starts with how many clients' structs it holds.
  if (answer[0] === 0) {
    log.covering = remote;
    log.deletesOnly = answer;
  }
  return answer;
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}
