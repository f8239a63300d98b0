/**
 * What an accepted connection may do. The relay process authenticates the
 * upgrade request (token in the query string) and hands the result to
 * `RelayCore.acceptMultiplexed` / `acceptYWebsocket`; sessions enforce it per
 * doc and per message. See docs/SECURITY.md.
 */

/** A share or owner token's role in its workspace. */
export type Role = 'read' | 'write' | 'owner';

/** Who is on the other end of a connection, as far as the relay has verified. */
export type Access =
  /** `--auth off`: any doc except the reserved system docs (peer links too, when no cluster secret is set). */
  | { kind: 'open' }
  /** A verified client token: docs of one workspace, writing only with `write`/`owner`. */
  | {
      kind: 'client';
      workspaceId: string;
      role: Role;
      /** The token's id (`jti`): revoking it closes this connection. */
      grantId: string;
      /** When the token stops being valid (ms epoch), or `null` for never. */
      expiresAt: number | null;
    }
  /** A relay that proved the cluster secret: may open a peer link (gossip), nothing else. */
  | { kind: 'peer' };

/** Full access, for `--auth off` and in-process tests. */
export const OPEN_ACCESS: Access = Object.freeze({ kind: 'open' });

/**
 * Docs whose names start with this belong to the relays themselves (e.g. the
 * auth registry `~lattice/auth`); they travel only over peer links. `~` cannot
 * appear in workspace ids, so no workspace doc collides.
 */
export const SYSTEM_DOC_PREFIX = '~lattice/';

/** Is `docName` one of workspace `workspaceId`'s docs (its index doc, or `<workspaceId>/…`)? */
export function docInWorkspace(docName: string, workspaceId: string): boolean {
  return docName === workspaceId || docName.startsWith(`${workspaceId}/`);
}

/** May a client with `access` receive `docName`? (Peer links use their own session and never ask.) */
export function mayRead(access: Access, docName: string): boolean {
  if (docName.startsWith(SYSTEM_DOC_PREFIX)) return false;
  switch (access.kind) {
    case 'open':
      return true;
    case 'client':
      return docInWorkspace(docName, access.workspaceId);
    case 'peer':
      return false;
  }
}

/** May a client with `access` change `docName`? */
export function mayWrite(access: Access, docName: string): boolean {
  if (!mayRead(access, docName)) return false;
  return access.kind === 'open' || (access.kind === 'client' && access.role !== 'read');
}

/**
 * Cluster-secret proofs for peer links, supplied by the relay process (the
 * core stays free of crypto libraries). The accepting relay puts `make()` in
 * its Hello; the dialing relay checks it with `verify` before using the link.
 */
export interface PeerProof {
  /** A fresh proof that this relay holds the cluster secret (cached and refreshed by the caller). */
  make(): string;
  /** Does `proof` show that relay `relayId` holds the cluster secret? Must not throw. */
  verify(proof: string, relayId: string): Promise<boolean>;
}
