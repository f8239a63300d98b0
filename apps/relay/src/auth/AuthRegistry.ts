import {
  decodeYMessage,
  type RelayCore,
  type Role,
  type Room,
  type RoomMember,
  SYSTEM_DOC_PREFIX,
  SyncStep,
  YMessageType,
} from '@lattice/replication';
import * as Y from 'yjs';

/** The relay-only doc holding the key ring and the access registry (see docs/SECURITY.md). */
export const AUTH_DOC = `${SYSTEM_DOC_PREFIX}auth`;

/** A signing key: HS256 secret (base64url) and whether it still verifies. */
export interface KeyRecord {
  secret: string;
  createdAt: number;
  relayId: string;
  retiredAt: number | null;
}

/** A claimed workspace. */
export interface WorkspaceRecord {
  createdAt: number;
  ownerGrantId: string;
}

/** One minted token (owner or share); the token itself is never stored. */
export interface GrantRecord {
  ws: string;
  role: Role;
  label: string;
  createdAt: number;
  expiresAt: number | null;
  relayId: string;
}

/** A registry write was not acknowledged as durable in time (storage is failing or slow). */
export class RegistryWriteError extends Error {
  override name = 'RegistryWriteError';
}

/** How long a write may wait for its durable ack before the caller gets an error. */
const WRITE_ACK_TIMEOUT_MS = 10_000;
const LOCAL = Symbol('auth-registry-local');
const REMOTE = Symbol('auth-registry-remote');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function numberOrNull(v: unknown): v is number | null {
  return v === null || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * The relay's view of `~lattice/auth`: a member of that room like any
 * client, so its writes are stored and acked durably by the room (each write
 * resolves only after its ack) and gossiped to peer relays; their writes
 * arrive here the same way. Records from the doc are shape-checked on read:
 * a malformed entry counts as absent.
 */
export class AuthRegistry {
  readonly #doc: Y.Doc;
  readonly #room: Room;
  readonly #member: RoomMember;
  readonly #waiting = new Map<number, { resolve: () => void; timer: NodeJS.Timeout }>();
  readonly #onRevoked = new Set<(grantIds: string[]) => void>();
  #seq = 0;
  #closed = false;

  private constructor(room: Room, member: RoomMember, doc: Y.Doc) {
    this.#room = room;
    this.#member = member;
    this.#doc = doc;
    this.#doc.getMap('revoked').observe((event) => {
      const revoked = this.#doc.getMap('revoked');
      const ids = [...event.keysChanged].filter((id) => revoked.has(id));
      if (ids.length === 0) return;
      for (const listener of this.#onRevoked) listener(ids);
    });
  }

  /** Joins `~lattice/auth` on `core` (loading it from storage). */
  static async open(core: RelayCore): Promise<AuthRegistry> {
    const doc = new Y.Doc();
    let registry: AuthRegistry | undefined;
    const member: RoomMember = {
      send: (message) => {
        let m: ReturnType<typeof decodeYMessage>;
        try {
          m = decodeYMessage(message);
        } catch {
          return;
        }
        if (m.type === YMessageType.Sync && m.step !== SyncStep.Step1) {
          Y.applyUpdate(doc, m.payload, REMOTE);
        }
      },
      ack: (seqs) => registry?.acked(seqs),
    };
    const room = await core.openSystemDoc(AUTH_DOC, member);
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(room.doc), REMOTE);
    registry = new AuthRegistry(room, member, doc);
    return registry;
  }

  /** Calls `listener` with grant ids revoked here or by a peer relay (as gossip delivers them). */
  onRevoked(listener: (grantIds: string[]) => void): () => void {
    this.#onRevoked.add(listener);
    return () => this.#onRevoked.delete(listener);
  }

  key(kid: string): KeyRecord | undefined {
    const v = this.#doc.getMap('keys').get(kid);
    if (!isObject(v)) return undefined;
    if (typeof v.secret !== 'string' || typeof v.createdAt !== 'number') return undefined;
    if (typeof v.relayId !== 'string' || !numberOrNull(v.retiredAt)) return undefined;
    return v as unknown as KeyRecord;
  }

  workspace(id: string): WorkspaceRecord | undefined {
    const v = this.#doc.getMap('workspaces').get(id);
    if (!isObject(v) || typeof v.createdAt !== 'number' || typeof v.ownerGrantId !== 'string') {
      return undefined;
    }
    return v as unknown as WorkspaceRecord;
  }

  grant(grantId: string): GrantRecord | undefined {
    const v = this.#doc.getMap('grants').get(grantId);
    if (!isObject(v) || typeof v.ws !== 'string' || typeof v.label !== 'string') return undefined;
    if (v.role !== 'read' && v.role !== 'write' && v.role !== 'owner') return undefined;
    if (typeof v.createdAt !== 'number' || !numberOrNull(v.expiresAt)) return undefined;
    return v as unknown as GrantRecord;
  }

  /** When `grantId` was revoked (ms epoch), or `null`. */
  revokedAt(grantId: string): number | null {
    const v = this.#doc.getMap('revoked').get(grantId);
    return typeof v === 'number' ? v : null;
  }

  /** Every grant of workspace `ws`, by id. */
  grantsOf(ws: string): Array<[string, GrantRecord]> {
    const out: Array<[string, GrantRecord]> = [];
    for (const id of this.#doc.getMap('grants').keys()) {
      const grant = this.grant(id);
      if (grant !== undefined && grant.ws === ws) out.push([id, grant]);
    }
    return out;
  }

  /**
   * Claims workspace `id` with its owner grant; `false` when this relay
   * already knows a claim (a claim on a partitioned peer may still race).
   */
  async claim(id: string, workspace: WorkspaceRecord, owner: GrantRecord): Promise<boolean> {
    if (this.workspace(id) !== undefined) return false;
    await this.#write(() => {
      this.#doc.getMap('workspaces').set(id, { ...workspace });
      this.#doc.getMap('grants').set(workspace.ownerGrantId, { ...owner });
    });
    return true;
  }

  async addGrant(grantId: string, grant: GrantRecord): Promise<void> {
    await this.#write(() => this.#doc.getMap('grants').set(grantId, { ...grant }));
  }

  /** Revokes `grantId` (idempotent; the first revocation time stays). */
  async revoke(grantId: string, at = Date.now()): Promise<void> {
    if (this.revokedAt(grantId) !== null) return;
    await this.#write(() => this.#doc.getMap('revoked').set(grantId, at));
  }

  async addKey(kid: string, key: KeyRecord): Promise<void> {
    await this.#write(() => this.#doc.getMap('keys').set(kid, { ...key }));
  }

  async retireKey(kid: string, at = Date.now()): Promise<void> {
    const key = this.key(kid);
    if (key === undefined) throw new RangeError(`no signing key ${kid} in the registry`);
    if (key.retiredAt !== null) return;
    await this.#write(() => this.#doc.getMap('keys').set(kid, { ...key, retiredAt: at }));
  }

  /** Leaves the room; pending writes stay queued in the room and are flushed by it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#room.leave(this.#member);
    for (const { resolve, timer } of this.#waiting.values()) {
      clearTimeout(timer);
      resolve();
    }
    this.#waiting.clear();
  }

  /** Resolves the writes numbered `seqs` (the room made them durable). */
  acked(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const waiting = this.#waiting.get(seq);
      if (waiting === undefined) continue;
      this.#waiting.delete(seq);
      clearTimeout(waiting.timer);
      waiting.resolve();
    }
  }

  /** Applies `change` locally, hands the resulting updates to the room and waits for their durable acks. */
  async #write(change: () => void): Promise<void> {
    if (this.#closed) throw new RegistryWriteError('the access registry is closed');
    const updates: Uint8Array[] = [];
    const collect = (update: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) updates.push(update);
    };
    this.#doc.on('update', collect);
    try {
      this.#doc.transact(change, LOCAL);
    } finally {
      this.#doc.off('update', collect);
    }
    const acks = updates.map((payload) => {
      const seq = ++this.#seq;
      const acked = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#waiting.delete(seq);
          reject(new RegistryWriteError('the access registry could not store the change in time'));
        }, WRITE_ACK_TIMEOUT_MS);
        this.#waiting.set(seq, { resolve, timer });
      });
      try {
        this.#room.receive(
          this.#member,
          { type: YMessageType.Sync, step: SyncStep.Update, payload },
          seq,
        );
      } catch (err) {
        this.acked([seq]);
        throw new RegistryWriteError(
          `the access registry refused the change: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return acked;
    });
    await Promise.all(acks);
  }
}
