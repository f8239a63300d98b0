/**
 * The relay's version history API (`/api/history/…`, docs/ARCHITECTURE.md
 * "Version history") as the web app uses it. Answers are checked field by
 * field; a failure is a `HistoryError` (status 0: the relay was not reached).
 */

/** Why the relay took a version. */
export type VersionReason = 'scheduled' | 'purge' | 'shutdown';

/** One version of a note, as listed. */
export interface VersionSummary {
  id: string;
  at: number;
  reason: VersionReason;
  /** Display names of who wrote since the version before (self-declared). */
  authors: string[];
  /** Bytes the relay stores for it. */
  size: number;
  /** The note's title then, when the relay knew it. */
  title: string | null;
}

/** A version with its Markdown body. */
export interface VersionContent extends VersionSummary {
  body: string;
}

/** A note purged from the workspace whose last version the relay keeps. */
export interface PurgedNote {
  noteId: string;
  title: string;
  purgedAt: number;
  versionId: string | null;
}

export class HistoryError extends Error {
  override name = 'HistoryError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Json = Record<string, unknown>;

function malformed(what: string): HistoryError {
  return new HistoryError(502, `the relay's history answer is malformed: ${what}`);
}

function summaryOf(value: unknown): VersionSummary {
  if (typeof value !== 'object' || value === null) throw malformed('a version is not an object');
  const v = value as Json;
  const reason = v.reason;
  if (
    typeof v.id !== 'string' ||
    typeof v.at !== 'number' ||
    typeof v.size !== 'number' ||
    (reason !== 'scheduled' && reason !== 'purge' && reason !== 'shutdown') ||
    !Array.isArray(v.authors) ||
    !v.authors.every((a) => typeof a === 'string') ||
    (v.title !== null && typeof v.title !== 'string')
  ) {
    throw malformed('a version lacks id, at, reason, authors, size or title');
  }
  return {
    id: v.id,
    at: v.at,
    reason,
    authors: v.authors as string[],
    size: v.size,
    title: v.title as string | null,
  };
}

/** Reads one workspace's history from a relay. */
export class HistoryClient {
  readonly #base: string;
  readonly #workspaceId: string;
  readonly #token: () => string | null;
  readonly #fetch: typeof globalThis.fetch;

  constructor(
    baseUrl: string,
    workspaceId: string,
    token: () => string | null,
    fetchFn: typeof globalThis.fetch = globalThis.fetch.bind(globalThis),
  ) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#workspaceId = workspaceId;
    this.#token = token;
    this.#fetch = fetchFn;
  }

  /** Versions of a note, newest first. */
  async versions(noteId: string): Promise<VersionSummary[]> {
    const body = await this.#get(`notes/${encodeURIComponent(noteId)}`);
    if (!Array.isArray(body.versions)) throw malformed('versions is not a list');
    return body.versions.map(summaryOf);
  }

  /** One version with its body. */
  async version(noteId: string, versionId: string): Promise<VersionContent> {
    const body = await this.#get(
      `notes/${encodeURIComponent(noteId)}/${encodeURIComponent(versionId)}`,
    );
    if (typeof body.body !== 'string') throw malformed('body is not text');
    return { ...summaryOf(body), body: body.body };
  }

  /** Notes purged from the workspace, most recent first. */
  async purged(): Promise<PurgedNote[]> {
    const body = await this.#get('purged');
    if (!Array.isArray(body.notes)) throw malformed('notes is not a list');
    return body.notes.map((value: unknown) => {
      const n = value as Json;
      if (
        typeof n.noteId !== 'string' ||
        typeof n.title !== 'string' ||
        typeof n.purgedAt !== 'number' ||
        (n.versionId !== null && typeof n.versionId !== 'string')
      ) {
        throw malformed('a purged note lacks noteId, title, purgedAt or versionId');
      }
      return {
        noteId: n.noteId,
        title: n.title,
        purgedAt: n.purgedAt,
        versionId: n.versionId as string | null,
      };
    });
  }

  async #get(path: string): Promise<Json> {
    const token = this.#token();
    let res: Response;
    try {
      res = await this.#fetch(
        `${this.#base}/api/history/${encodeURIComponent(this.#workspaceId)}/${path}`,
        { headers: token === null ? {} : { Authorization: `Bearer ${token}` } },
      );
    } catch {
      throw new HistoryError(0, 'the relay cannot be reached');
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new HistoryError(res.status, `the relay answered ${res.status} without JSON`);
    }
    if (!res.ok) {
      const error = (body as Json | null)?.error;
      throw new HistoryError(res.status, typeof error === 'string' ? error : `HTTP ${res.status}`);
    }
    if (typeof body !== 'object' || body === null) throw malformed('not an object');
    return body as Json;
  }
}
