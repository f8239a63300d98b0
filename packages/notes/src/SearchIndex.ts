import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { readBlobHeader, writeBlobHeader } from './blobHeader.ts';
import { countTokens, tokenize } from './text.ts';

/** How much more a title hit counts than a body hit. */
export const TITLE_WEIGHT = 4;

/** Bumped whenever the persisted layout changes; older blobs are discarded and rebuilt. */
const FORMAT_VERSION = 2;

const NO_VECTOR = new Uint8Array(0);

/** What the index remembers about one note's body. */
export interface IndexedBody {
  /** Plain text of the body (snippets come from here). */
  text: string;
  /** Version of the note doc this text was read from (see `bodyKey`). */
  key: string;
  /**
   * The index entry's `updatedAt` when the body was read; another value at
   * start-up means "re-read this note".
   */
  updatedAt: number;
  /**
   * Encoded state vector of the note doc the text was read from: how much of
   * the note this replica had (decides whether the note is still arriving).
   */
  stateVector?: Uint8Array;
}

/** One note matching a query. */
export interface SearchMatch {
  id: string;
  score: number;
}

interface NoteTokens {
  title: string;
  titleTokens: Map<string, number>;
  body: IndexedBody | undefined;
  /** The body tokens in `#postings` (behind `body` while the id is in `#unposted`). */
  bodyTokens: Map<string, number>;
}

interface Hits {
  title: number;
  body: number;
}

/** A persisted index as read back: the index plus the notes that still needed re-indexing. */
export interface DecodedSearchIndex {
  index: SearchIndex;
  pending: string[];
}

/**
 * An incremental inverted index over note titles and bodies. Each note is
 * updated on its own (`setTitle`, `setBody`, `remove`); queries never look at
 * notes that share no token with them.
 */
export class SearchIndex {
  #notes = new Map<string, NoteTokens>();
  #postings = new Map<string, Map<string, Hits>>();
  // Sorted vocabulary for prefix lookups; rebuilt lazily after changes.
  #vocabulary: string[] | null = null;
  #version = 0;
  /**
   * Notes whose body text changed since it was tokenized. Bodies are posted
   * lazily, on the next `search`: tokenizing every body of a decoded index
   * (5,000 notes × 1,450 characters) cost hundreds of ms before the note list
   * could show at start-up (issue 6, cold load), and most sessions never search.
   */
  #unposted = new Set<string>();

  /** Increases on every change; lets the owner skip persisting an unchanged index. */
  get version(): number {
    return this.#version;
  }

  /** Ids of every indexed note. */
  ids(): string[] {
    return [...this.#notes.keys()];
  }

  has(id: string): boolean {
    return this.#notes.has(id);
  }

  /** The indexed body of a note, if its body has been indexed. */
  body(id: string): IndexedBody | undefined {
    return this.#notes.get(id)?.body;
  }

  /** The indexed title of a note. */
  title(id: string): string | undefined {
    return this.#notes.get(id)?.title;
  }

  /** Sets a note's title; returns whether anything changed. */
  setTitle(id: string, title: string): boolean {
    const note = this.#note(id);
    if (note.title === title && this.#notes.has(id)) return false;
    this.#notes.set(id, note);
    const tokens = countTokens(title);
    this.#repost(id, note.titleTokens, tokens, 'title');
    note.title = title;
    note.titleTokens = tokens;
    this.#version++;
    return true;
  }

  /**
   * Sets a note's body. Returns whether the text changed; a new `key` or
   * `updatedAt` with the same text is recorded without re-tokenizing.
   */
  setBody(id: string, body: IndexedBody): boolean {
    const note = this.#note(id);
    this.#notes.set(id, note);
    const old = note.body;
    if (old !== undefined && old.key === body.key && old.updatedAt === body.updatedAt) {
      return false;
    }
    this.#version++;
    note.body = { ...body };
    if (old?.text === body.text) return false;
    this.#unposted.add(id);
    return true;
  }

  /** Drops a note from the index. */
  remove(id: string): boolean {
    const note = this.#notes.get(id);
    if (note === undefined) return false;
    this.#repost(id, note.titleTokens, new Map(), 'title');
    this.#repost(id, note.bodyTokens, new Map(), 'body');
    this.#unposted.delete(id);
    this.#notes.delete(id);
    this.#version++;
    return true;
  }

  /**
   * Notes containing every query term (the last one as a prefix, since it is
   * usually still being typed), scored by term hits with titles weighted by
   * `TITLE_WEIGHT`. Best first; ties by id.
   */
  search(query: string, accept: (id: string) => boolean = () => true): SearchMatch[] {
    const terms = [...new Set(tokenize(query))];
    if (terms.length === 0) return [];
    this.#postBodies();
    let scores: Map<string, number> | undefined;
    terms.forEach((term, i) => {
      const termScores = new Map<string, number>();
      const tokens = i === terms.length - 1 ? this.#withPrefix(term) : [term];
      for (const token of tokens) {
        for (const [id, hits] of this.#postings.get(token) ?? []) {
          if (scores !== undefined && !scores.has(id)) continue;
          const score = hits.title * TITLE_WEIGHT + hits.body;
          termScores.set(id, (termScores.get(id) ?? 0) + score);
        }
      }
      if (scores !== undefined) {
        for (const [id, score] of termScores) termScores.set(id, score + (scores.get(id) ?? 0));
      }
      scores = termScores;
    });
    const matches: SearchMatch[] = [];
    for (const [id, score] of scores ?? []) if (accept(id)) matches.push({ id, score });
    return matches.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Tokenizes bodies set since the last search, for about `budgetMs` (at
   * least one note per call), and returns whether any are left. Called from
   * idle time, it does ahead what the first search would otherwise do while
   * someone types: with 5,000 notes that first keystroke took over a second.
   */
  prepare(budgetMs = Number.POSITIVE_INFINITY): boolean {
    if (Number.isNaN(budgetMs) || budgetMs < 0) {
      throw new RangeError(`SearchIndex.prepare: budget must be a non-negative number of ms`);
    }
    const until = performance.now() + budgetMs;
    for (const id of this.#unposted) {
      // Deleting the visited entry while iterating a Set is well defined.
      this.#unposted.delete(id);
      const note = this.#notes.get(id);
      if (note?.body !== undefined) {
        const tokens = countTokens(note.body.text);
        this.#repost(id, note.bodyTokens, tokens, 'body');
        note.bodyTokens = tokens;
      }
      if (performance.now() >= until) break;
    }
    if (this.#unposted.size > 0) return true;
    // The sorted vocabulary for prefix lookups is part of being ready, too.
    this.#vocabulary ??= [...this.#postings.keys()].sort();
    return false;
  }

  /** Whether some bodies still wait to be tokenized (see `prepare`). */
  get prepared(): boolean {
    return this.#unposted.size === 0;
  }

  /** Serializes the index (titles, bodies, versions) plus ids still waiting for re-indexing. */
  encode(workspaceId: string, pending: Iterable<string>): Uint8Array {
    const encoder = encoding.createEncoder();
    writeBlobHeader(encoder, FORMAT_VERSION, workspaceId);
    encoding.writeVarUint(encoder, this.#notes.size);
    for (const [id, note] of this.#notes) {
      encoding.writeVarString(encoder, id);
      encoding.writeVarString(encoder, note.title);
      encoding.writeUint8(encoder, note.body === undefined ? 0 : 1);
      if (note.body !== undefined) {
        encoding.writeVarString(encoder, note.body.text);
        encoding.writeVarString(encoder, note.body.key);
        encoding.writeFloat64(encoder, note.body.updatedAt);
        // Zero bytes for "unknown": an encoded state vector is never empty.
        encoding.writeVarUint8Array(encoder, note.body.stateVector ?? NO_VECTOR);
      }
    }
    const pendingIds = [...new Set(pending)];
    encoding.writeVarUint(encoder, pendingIds.length);
    for (const id of pendingIds) encoding.writeVarString(encoder, id);
    return encoding.toUint8Array(encoder);
  }

  /**
   * Reads what `encode` wrote. Throws an `Error` naming the problem for a blob
   * that is malformed, of another format version, or of another workspace.
   */
  static decode(bytes: Uint8Array, workspaceId: string): DecodedSearchIndex {
    const decoder = decoding.createDecoder(bytes);
    try {
      readBlobHeader(decoder, FORMAT_VERSION, workspaceId);
      const index = new SearchIndex();
      const count = decoding.readVarUint(decoder);
      for (let i = 0; i < count; i++) {
        const id = decoding.readVarString(decoder);
        index.setTitle(id, decoding.readVarString(decoder));
        const hasBody = decoding.readUint8(decoder);
        if (hasBody > 1) throw new Error(`bad body flag ${hasBody}`);
        if (hasBody === 1) {
          const text = decoding.readVarString(decoder);
          const key = decoding.readVarString(decoder);
          const updatedAt = decoding.readFloat64(decoder);
          const stateVector = decoding.readVarUint8Array(decoder).slice();
          index.setBody(id, {
            text,
            key,
            updatedAt,
            ...(stateVector.length > 0 ? { stateVector } : {}),
          });
        }
      }
      const pending: string[] = [];
      const pendingCount = decoding.readVarUint(decoder);
      for (let i = 0; i < pendingCount; i++) pending.push(decoding.readVarString(decoder));
      if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
      return { index, pending };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`SearchIndex.decode: unusable search index (${reason})`, { cause: error });
    }
  }

  /** Brings `#postings` up to date with every body set since the last search. */
  #postBodies(): void {
    this.prepare();
  }

  #note(id: string): NoteTokens {
    return (
      this.#notes.get(id) ?? {
        title: '',
        titleTokens: new Map(),
        body: undefined,
        bodyTokens: new Map(),
      }
    );
  }

  #repost(
    id: string,
    before: Map<string, number>,
    after: Map<string, number>,
    field: keyof Hits,
  ): void {
    for (const token of before.keys()) {
      if (after.has(token)) continue;
      const posting = this.#postings.get(token);
      const hits = posting?.get(id);
      if (posting === undefined || hits === undefined) continue;
      hits[field] = 0;
      if (hits.title === 0 && hits.body === 0) posting.delete(id);
      if (posting.size === 0) {
        this.#postings.delete(token);
        this.#vocabulary = null;
      }
    }
    for (const [token, count] of after) {
      let posting = this.#postings.get(token);
      if (posting === undefined) {
        posting = new Map();
        this.#postings.set(token, posting);
        this.#vocabulary = null;
      }
      const hits = posting.get(id) ?? { title: 0, body: 0 };
      hits[field] = count;
      posting.set(id, hits);
    }
  }

  #withPrefix(prefix: string): string[] {
    this.#vocabulary ??= [...this.#postings.keys()].sort();
    const vocabulary = this.#vocabulary;
    let lo = 0;
    let hi = vocabulary.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((vocabulary[mid] ?? '') < prefix) lo = mid + 1;
      else hi = mid;
    }
    const tokens: string[] = [];
    for (let i = lo; i < vocabulary.length; i++) {
      const token = vocabulary[i] ?? '';
      if (!token.startsWith(prefix)) break;
      tokens.push(token);
    }
    return tokens;
  }
}
