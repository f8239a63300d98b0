import type { Access, Role } from '@lattice/replication';
import { base64url, errors, jwtVerify, SignJWT } from 'jose';
import type { AuthRegistry } from './AuthRegistry.ts';
import { TOKEN_ISSUER } from './ClusterAuth.ts';

/** `aud` of client (workspace) tokens. */
export const WORKSPACE_AUDIENCE = 'lattice-workspace';
/** Workspace ids: also the first segment of every doc name of the workspace. */
export const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Where this relay keeps the id of its current signing key (its own meta, not gossiped). */
const SIGNING_KID_META = 'auth-signing-kid';
const SECRET_BYTES = 32;

/** The relay's own metadata store (LevelStorage's meta keys). */
export interface MetaStore {
  getMeta(key: string): Promise<Uint8Array | undefined>;
  setMeta(key: string, value: Uint8Array): Promise<void>;
}

/** Why a token was refused; maps to close codes 4401 / 4419 / 4403 and HTTP 401 / 401 / 403. */
export type TokenProblem = 'unauthorized' | 'expired' | 'forbidden';

export type TokenCheck =
  | { ok: true; access: Extract<Access, { kind: 'client' }> }
  | { ok: false; problem: TokenProblem; reason: string };

export interface TokenServiceOptions {
  registry: AuthRegistry;
  meta: MetaStore;
  relayId: string;
  /** Start signing with a new key (old keys keep verifying). */
  rotateKey?: boolean;
  /** Retire these key ids: tokens signed with them stop verifying. */
  retireKeys?: readonly string[];
}

function randomId(bytes: number): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Mints and verifies client tokens (HS256 JWTs, `kid` header) against the key
 * ring in the access registry. Each relay signs with its own current key,
 * generated on first start; every relay verifies with every known,
 * not-retired key (keys reach peers with the registry doc).
 */
export class TokenService {
  readonly #registry: AuthRegistry;
  readonly #relayId: string;
  #kid: string;
  #secret: Uint8Array;

  private constructor(registry: AuthRegistry, relayId: string, kid: string, secret: Uint8Array) {
    this.#registry = registry;
    this.#relayId = relayId;
    this.#kid = kid;
    this.#secret = secret;
  }

  /**
   * Loads (or generates, on first start or with `rotateKey`) this relay's
   * signing key and retires `retireKeys`. Throws for an unknown key id.
   */
  static async start(options: TokenServiceOptions): Promise<TokenService> {
    const { registry, meta, relayId } = options;
    for (const kid of options.retireKeys ?? []) {
      if (registry.key(kid) === undefined) {
        throw new RangeError(`--retire-key ${kid}: no signing key with that id is known`);
      }
      await registry.retireKey(kid);
    }
    const stored = await meta.getMeta(SIGNING_KID_META);
    const currentKid = stored === undefined ? undefined : new TextDecoder().decode(stored);
    const current = currentKid === undefined ? undefined : registry.key(currentKid);
    if (currentKid !== undefined && current !== undefined && current.retiredAt === null) {
      if (!options.rotateKey) {
        return new TokenService(registry, relayId, currentKid, base64url.decode(current.secret));
      }
    }
    // First start, --rotate-key, or our key was retired (or lost with a wiped registry).
    const kid = randomId(9);
    const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
    await registry.addKey(kid, {
      secret: base64url.encode(secret),
      createdAt: Date.now(),
      relayId,
      retiredAt: null,
    });
    await meta.setMeta(SIGNING_KID_META, new TextEncoder().encode(kid));
    return new TokenService(registry, relayId, kid, secret);
  }

  /** Id of the key new tokens are signed with. */
  get kid(): string {
    return this.#kid;
  }

  /** This relay's id (recorded in the grants it mints). */
  get relayId(): string {
    return this.#relayId;
  }

  /** Signs a token for grant `grantId`; `expiresAt` (ms epoch) is rounded down to whole seconds. */
  mint(claims: {
    workspaceId: string;
    role: Role;
    grantId: string;
    expiresAt: number | null;
  }): Promise<string> {
    const jwt = new SignJWT({ ws: claims.workspaceId, role: claims.role })
      .setProtectedHeader({ alg: 'HS256', kid: this.#kid })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(WORKSPACE_AUDIENCE)
      .setJti(claims.grantId)
      .setIssuedAt();
    if (claims.expiresAt !== null) jwt.setExpirationTime(Math.floor(claims.expiresAt / 1000));
    return jwt.sign(this.#secret);
  }

  /**
   * Signature with a known, not-retired key, then `exp`, then revocation. A
   * grant id this relay has not heard of is accepted: it may have been minted
   * on a peer whose registry update has not arrived yet.
   */
  async verify(token: string): Promise<TokenCheck> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid === undefined ? undefined : this.#registry.key(header.kid);
          if (key === undefined) throw new Error('unknown signing key');
          if (key.retiredAt !== null) throw new Error('retired signing key');
          return base64url.decode(key.secret);
        },
        { issuer: TOKEN_ISSUER, audience: WORKSPACE_AUDIENCE, algorithms: ['HS256'] },
      ));
    } catch (err) {
      if (err instanceof errors.JWTExpired) {
        return { ok: false, problem: 'expired', reason: 'token expired' };
      }
      return { ok: false, problem: 'unauthorized', reason: 'invalid token' };
    }
    const { ws, role, jti, exp } = payload;
    if (typeof ws !== 'string' || !WORKSPACE_ID.test(ws)) {
      return { ok: false, problem: 'unauthorized', reason: 'invalid token: bad workspace' };
    }
    if (role !== 'read' && role !== 'write' && role !== 'owner') {
      return { ok: false, problem: 'unauthorized', reason: 'invalid token: bad role' };
    }
    if (typeof jti !== 'string' || jti === '') {
      return { ok: false, problem: 'unauthorized', reason: 'invalid token: no grant id' };
    }
    if (this.#registry.revokedAt(jti) !== null) {
      return { ok: false, problem: 'forbidden', reason: 'access revoked' };
    }
    return {
      ok: true,
      access: {
        kind: 'client',
        workspaceId: ws,
        role,
        grantId: jti,
        expiresAt: typeof exp === 'number' ? exp * 1000 : null,
      },
    };
  }
}
