import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { readBlobHeader, writeBlobHeader } from '../blobHeader.ts';
import { isLinkTargetId, linkContext, parseNoteLinks } from './noteLinks.ts';

/** Bumped whenever the persisted layout changes; older blobs are discarded and rebuilt. */
const FORMAT_VERSION = 1;

/** One note's link to another, as the index keeps it. */
export interface OutgoingLink {
  targetId: string;
  /** The label written in the link (the target's title when it was made). */
  label: string;
  /** The linking line as plain text (see `linkContext`). */
  context: string;
}

/** A note linking to another: what a backlinks list shows. */
export interface IndexedBacklink {
  sourceId: string;
  /** How often the source links to the target. */
  count: number;
  /** Label and context of the source's first link to the target. */
  label: string;
  context: string;
}

interface SourceEntry {
  /** Version of the note body the links were read from (the search index's body key). */
  key: string;
  /** One entry per target (the first link to it), in order of appearance. */
  links: OutgoingLink[];
  counts: Map<string, number>;
}

/**
 * Which note links to which: the links of each note's body, and the reverse
 * (backlinks), updated one note at a time like the search index, so that the
 * backlinks of a note are known without loading the docs of the notes that
 * link to it.
 */
export class LinkIndex {
  #sources = new Map<string, SourceEntry>();
  /** target id → ids of the notes linking to it. */
  #targets = new Map<string, Set<string>>();
  #version = 0;

  /** Increases on every change; lets the owner skip persisting an unchanged index. */
  get version(): number {
    return this.#version;
  }

  /** Ids of every note whose links are indexed. */
  ids(): string[] {
    return [...this.#sources.keys()];
  }

  /** The body version the note's links were read from, if indexed. */
  key(sourceId: string): string | undefined {
    return this.#sources.get(sourceId)?.key;
  }

  /**
   * Indexes the links of note `sourceId`'s body `markdown`, read at version
   * `key`. Returns whether its links changed; the same `key` skips parsing.
   */
  update(sourceId: string, key: string, markdown: string): boolean {
    const old = this.#sources.get(sourceId);
    if (old !== undefined && old.key === key && key !== '') return false;
    const parsed = parseNoteLinks(markdown);
    const links: OutgoingLink[] = [];
    const counts = new Map<string, number>();
    for (const link of parsed) {
      const count = counts.get(link.targetId) ?? 0;
      counts.set(link.targetId, count + 1);
      if (count > 0) continue;
      links.push({
        targetId: link.targetId,
        label: link.label,
        context: linkContext(markdown, link, parsed),
      });
    }
    return this.set(sourceId, key, links, counts);
  }

  /** Sets a note's links as already parsed (`decode`, tests). Returns whether they changed. */
  set(
    sourceId: string,
    key: string,
    links: readonly OutgoingLink[],
    counts: ReadonlyMap<string, number> = new Map(links.map((link) => [link.targetId, 1])),
  ): boolean {
    const old = this.#sources.get(sourceId);
    const entry: SourceEntry = {
      key,
      links: links.map((link) => ({ ...link })),
      counts: new Map(),
    };
    for (const link of entry.links) entry.counts.set(link.targetId, counts.get(link.targetId) ?? 1);
    this.#sources.set(sourceId, entry);
    this.#version++;
    // A first read that found no links changes no backlinks either.
    if (old === undefined ? entry.links.length === 0 : sameLinks(old, entry)) return false;
    for (const link of old?.links ?? []) {
      if (!entry.counts.has(link.targetId)) this.#unlink(sourceId, link.targetId);
    }
    for (const link of entry.links) {
      let sources = this.#targets.get(link.targetId);
      if (sources === undefined) {
        sources = new Set();
        this.#targets.set(link.targetId, sources);
      }
      sources.add(sourceId);
    }
    return true;
  }

  /** Forgets a note's own links (it was purged). Links to it stay: they show as broken. */
  remove(sourceId: string): boolean {
    const old = this.#sources.get(sourceId);
    if (old === undefined) return false;
    for (const link of old.links) this.#unlink(sourceId, link.targetId);
    this.#sources.delete(sourceId);
    this.#version++;
    return true;
  }

  /** The links of a note, one per target, in order of appearance. */
  linksFrom(sourceId: string): OutgoingLink[] {
    return (this.#sources.get(sourceId)?.links ?? []).map((link) => ({ ...link }));
  }

  /** The notes linking to `targetId` (in no particular order). */
  backlinks(targetId: string): IndexedBacklink[] {
    const found: IndexedBacklink[] = [];
    for (const sourceId of this.#targets.get(targetId) ?? []) {
      const source = this.#sources.get(sourceId);
      const link = source?.links.find((l) => l.targetId === targetId);
      if (source === undefined || link === undefined) continue;
      const count = source.counts.get(targetId) ?? 1;
      found.push({ sourceId, count, label: link.label, context: link.context });
    }
    return found;
  }

  /** Serializes the index. */
  encode(workspaceId: string): Uint8Array {
    const encoder = encoding.createEncoder();
    writeBlobHeader(encoder, FORMAT_VERSION, workspaceId);
    encoding.writeVarUint(encoder, this.#sources.size);
    for (const [sourceId, entry] of this.#sources) {
      encoding.writeVarString(encoder, sourceId);
      encoding.writeVarString(encoder, entry.key);
      encoding.writeVarUint(encoder, entry.links.length);
      for (const link of entry.links) {
        encoding.writeVarString(encoder, link.targetId);
        encoding.writeVarString(encoder, link.label);
        encoding.writeVarString(encoder, link.context);
        encoding.writeVarUint(encoder, entry.counts.get(link.targetId) ?? 1);
      }
    }
    return encoding.toUint8Array(encoder);
  }

  /**
   * Reads what `encode` wrote. Throws an `Error` naming the problem for a blob
   * that is malformed, of another format version, or of another workspace.
   */
  static decode(bytes: Uint8Array, workspaceId: string): LinkIndex {
    const decoder = decoding.createDecoder(bytes);
    try {
      readBlobHeader(decoder, FORMAT_VERSION, workspaceId);
      const index = new LinkIndex();
      const sources = decoding.readVarUint(decoder);
      for (let i = 0; i < sources; i++) {
        const sourceId = decoding.readVarString(decoder);
        const key = decoding.readVarString(decoder);
        const count = decoding.readVarUint(decoder);
        const links: OutgoingLink[] = [];
        const counts = new Map<string, number>();
        for (let j = 0; j < count; j++) {
          const targetId = decoding.readVarString(decoder);
          if (!isLinkTargetId(targetId))
            throw new Error(`bad target id ${JSON.stringify(targetId)}`);
          const label = decoding.readVarString(decoder);
          const context = decoding.readVarString(decoder);
          counts.set(targetId, decoding.readVarUint(decoder));
          links.push({ targetId, label, context });
        }
        index.set(sourceId, key, links, counts);
      }
      if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
      return index;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`LinkIndex.decode: unusable link index (${reason})`, { cause: error });
    }
  }

  #unlink(sourceId: string, targetId: string): void {
    const sources = this.#targets.get(targetId);
    if (sources === undefined) return;
    sources.delete(sourceId);
    if (sources.size === 0) this.#targets.delete(targetId);
  }
}

function sameLinks(a: SourceEntry, b: SourceEntry): boolean {
  return (
    a.links.length === b.links.length &&
    a.links.every((link, i) => {
      const other = b.links[i];
      return (
        other !== undefined &&
        link.targetId === other.targetId &&
        link.label === other.label &&
        link.context === other.context &&
        a.counts.get(link.targetId) === b.counts.get(other.targetId)
      );
    })
  );
}
