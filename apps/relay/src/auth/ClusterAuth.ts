import { jwtVerify, SignJWT } from 'jose';

/** `iss` of every Lattice token. */
export const TOKEN_ISSUER = 'lattice';
/** `aud` of relay↔relay tokens (client tokens use `lattice-workspace`). */
export const PEER_AUDIENCE = 'lattice-peer';
/** A cluster secret shorter than this is refused: HS256 wants at least 256 bits. */
export const MIN_CLUSTER_SECRET_BYTES = 32;
/** Peer tokens expire after this long… */
const PEER_TOKEN_TTL_S = 300;
/** …and the cached one is re-signed this often, so a dial never carries one near expiry. */
const PEER_TOKEN_REFRESH_MS = 60_000;

/**
 * Peer-link credentials from the cluster secret: short-lived HS256 JWTs
 * (`aud: 'lattice-peer'`, `sub` = relay id). The dialer sends one in the URL,
 * the acceptor answers with one in its Hello (mutual proof). The current token
 * is cached so dialing and Hellos stay synchronous.
 */
export class ClusterAuth {
  readonly relayId: string;
  readonly #secret: Uint8Array;
  #token: string;
  readonly #timer: NodeJS.Timeout;

  private constructor(relayId: string, secret: Uint8Array, token: string) {
    this.relayId = relayId;
    this.#secret = secret;
    this.#token = token;
    this.#timer = setInterval(() => {
      this.#sign().then(
        (t) => {
          this.#token = t;
        },
        // Signing with an in-memory key does not fail in practice; keep the old token if it does.
        () => {},
      );
    }, PEER_TOKEN_REFRESH_MS);
    this.#timer.unref();
  }

  static async create(relayId: string, secret: Uint8Array): Promise<ClusterAuth> {
    if (secret.byteLength < MIN_CLUSTER_SECRET_BYTES) {
      throw new RangeError(
        `the cluster secret must be at least ${MIN_CLUSTER_SECRET_BYTES} bytes, got ${secret.byteLength}`,
      );
    }
    const key = new Uint8Array(secret);
    const token = await ClusterAuth.#signWith(key, relayId);
    return new ClusterAuth(relayId, key, token);
  }

  /** A valid peer token for this relay (re-signed every minute, valid for five). */
  token(): string {
    return this.#token;
  }

  /** Is `token` a peer token signed with the cluster secret (and, given `relayId`, for that relay)? */
  async verify(token: string, relayId?: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        issuer: TOKEN_ISSUER,
        audience: PEER_AUDIENCE,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      return relayId === undefined || payload.sub === relayId;
    } catch {
      return false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #sign(): Promise<string> {
    return ClusterAuth.#signWith(this.#secret, this.relayId);
  }

  static #signWith(secret: Uint8Array, relayId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(PEER_AUDIENCE)
      .setSubject(relayId)
      .setIssuedAt()
      .setExpirationTime(`${PEER_TOKEN_TTL_S}s`)
      .sign(secret);
  }
}
