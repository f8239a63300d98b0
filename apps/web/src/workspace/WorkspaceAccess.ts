import type { AccessProblem, HelloAccess, ReplicaAccess } from '@lattice/replication';
import { type AuthApi, AuthApiError } from './AuthApi.ts';
import { tokenClaims } from './tokens.ts';

/** What the UI shows about access to the open workspace. */
export interface AccessView {
  /** From the relay's `Hello`; before it (offline), from the stored token's claims. */
  role: HelloAccess | null;
  /** Set when this device may not use the workspace: screens "No access" / "This link has expired". */
  problem: AccessProblem | null;
  reason: string;
  /** Edits would never leave this device: the UI prevents them. */
  readOnly: boolean;
  /** The owner token, when this device holds one (it may share and revoke). */
  ownerToken: string | null;
  /** A claim of this workspace is in flight. */
  claiming: boolean;
}

export interface WorkspaceAccessOptions {
  workspaceId: string;
  replica: {
    readonly access: ReplicaAccess;
    onAccessChange(l: (a: ReplicaAccess) => void): () => void;
  };
  /** The relay's access API; null: no relay (this device only). */
  api: AuthApi | null;
  /** Created on this device: claimed on the relay the first time one with auth is reached. */
  createdHere: boolean;
  /** The stored token for this workspace, if any. */
  token: string | null;
  /** Persists a token won by claiming. */
  saveToken(token: string): void;
  /** Hands the replica relay URLs that carry `token`. */
  applyToken(token: string): void;
  /** Claim retries while the relay is unreachable: first delay and cap (default 2 s / 60 s). */
  retry?: { baseMs: number; maxMs: number };
}

/**
 * Access to one open workspace: the stored token, the replica's view of it
 * (role, refusals) and the claim of a workspace made here. A workspace made
 * offline stays local; the claim is retried on a timer, when the browser
 * comes online, and when the relay refuses the token-less socket (4401: the
 * relay is back and has auth on). A 409 means another device owns that id.
 */
export class WorkspaceAccess {
  readonly #o: WorkspaceAccessOptions;
  #token: string | null;
  #claiming = false;
  #conflict: string | null = null;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  #view: AccessView;
  readonly #listeners = new Set<() => void>();
  readonly #cleanups: (() => void)[] = [];

  constructor(options: WorkspaceAccessOptions) {
    this.#o = options;
    this.#token = options.token;
    this.#view = this.#compute();
  }

  /** The current view; a new object whenever it changed (safe for useSyncExternalStore). */
  get view(): AccessView {
    return this.#view;
  }

  /** The relay's access API (null without a relay). */
  get api(): AuthApi | null {
    return this.#o.api;
  }

  get workspaceId(): string {
    return this.#o.workspaceId;
  }

  get token(): string | null {
    return this.#token;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts watching the replica and claims the workspace if it was made here and has no token. */
  start(): void {
    this.#cleanups.push(
      this.#o.replica.onAccessChange((access) => {
        if (access.problem === 'unauthorized' && this.#needsClaim()) void this.claim();
        this.#update();
      }),
    );
    if (typeof window !== 'undefined') {
      const onOnline = () => {
        if (this.#needsClaim()) void this.claim();
      };
      window.addEventListener('online', onOnline);
      this.#cleanups.push(() => window.removeEventListener('online', onOnline));
    }
    if (this.#needsClaim()) void this.claim();
    this.#update();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#listeners.clear();
  }

  /** Claims the workspace now (no-op unless it needs one); never rejects. */
  async claim(): Promise<void> {
    const api = this.#o.api;
    if (this.#claiming || this.#stopped || api === null || !this.#needsClaim()) return;
    this.#claiming = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#update();
    try {
      const result = await api.claim(this.#o.workspaceId);
      if (this.#stopped) return;
      this.#failures = 0;
      if (result.kind === 'claimed') {
        this.#token = result.token;
        this.#o.saveToken(result.token);
        this.#o.applyToken(result.token);
      }
    } catch (error) {
      if (this.#stopped) return;
      if (error instanceof AuthApiError && error.status === 409) {
        this.#conflict =
          'This workspace was created on this device, but its id is already claimed on the relay by someone else.';
      } else {
        // Offline or the relay is struggling: the notes stay here and the claim is asked again later.
        const retry = this.#o.retry ?? { baseMs: 2000, maxMs: 60_000 };
        const delay = Math.min(retry.maxMs, retry.baseMs * 2 ** this.#failures);
        this.#failures = Math.min(this.#failures + 1, 20);
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = null;
          void this.claim();
        }, delay);
      }
    } finally {
      this.#claiming = false;
      if (!this.#stopped) this.#update();
    }
  }

  #needsClaim(): boolean {
    return this.#o.createdHere && this.#token === null && this.#conflict === null;
  }

  #compute(): AccessView {
    const access = this.#o.replica.access;
    const claims = this.#token === null ? null : tokenClaims(this.#token);
    const role = access.role ?? claims?.role ?? null;
    let problem = access.problem;
    let reason = access.reason;
    if (this.#conflict !== null) {
      problem = 'forbidden';
      reason = this.#conflict;
    } else if (problem === 'unauthorized' && this.#needsClaim()) {
      // Not refused: simply not claimed yet. The notes stay usable here meanwhile.
      problem = null;
      reason = '';
    }
    return {
      role,
      problem,
      reason,
      readOnly: role === 'read',
      ownerToken: claims?.role === 'owner' && this.#token !== null ? this.#token : null,
      claiming: this.#claiming,
    };
  }

  #update(): void {
    const next = this.#compute();
    const prev = this.#view;
    if (
      prev.role === next.role &&
      prev.problem === next.problem &&
      prev.reason === next.reason &&
      prev.readOnly === next.readOnly &&
      prev.ownerToken === next.ownerToken &&
      prev.claiming === next.claiming
    ) {
      return;
    }
    this.#view = next;
    for (const listener of [...this.#listeners]) listener();
  }
}
