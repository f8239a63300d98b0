import { Unzip, UnzipInflate } from 'fflate';
import { NoteFileError, parseNoteFile } from './frontMatter.ts';
import type { NoteFile } from './noteFile.ts';

/** A file handed to import: its name (a relative path for folder imports) and bytes. */
export interface ImportInput {
  name: string;
  bytes: Uint8Array;
}

/** Size limits of an import (zip bombs and huge files end as per-file errors). */
export interface ImportLimits {
  /** Largest note file, bytes (also per zip entry, uncompressed). Default 8 MiB. */
  maxFileBytes: number;
  /** Most uncompressed bytes taken from all zips together. Default 256 MiB. */
  maxTotalBytes: number;
  /** Most files read (zip entries included). Default 20,000. */
  maxFiles: number;
}

export const DEFAULT_IMPORT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFiles: 20_000,
});

/** A file that did not become a note: `error` for bad input, `skipped` for files that are not notes. */
export interface ImportProblem {
  path: string;
  kind: 'error' | 'skipped';
  message: string;
}

/** What `readImportFiles` found: parsed notes (in input order) and per-file problems. */
export interface ImportRead {
  notes: { path: string; note: NoteFile }[];
  problems: ImportProblem[];
}

const NOTE_FILE = /\.(md|markdown)$/i;
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function isZip(input: ImportInput): boolean {
  return (
    /\.zip$/i.test(input.name) || ZIP_MAGIC.every((byte, index) => input.bytes[index] === byte)
  );
}

/**
 * Reads Markdown files and zips of them into notes. Never throws for bad
 * input: a file that is not UTF-8, has broken front matter, is too large, or
 * is not Markdown becomes a problem and the rest is read.
 */
export function readImportFiles(
  inputs: readonly ImportInput[],
  limits: Partial<ImportLimits> = {},
): ImportRead {
  const limit: ImportLimits = { ...DEFAULT_IMPORT_LIMITS, ...limits };
  const out: ImportRead = { notes: [], problems: [] };
  const budget = { files: 0, bytes: 0 };
  for (const input of inputs) {
    if (isZip(input)) readZip(input, limit, budget, out);
    else readOne(input.name, input.bytes, limit, budget, out);
  }
  return out;
}

function readOne(
  path: string,
  bytes: Uint8Array,
  limit: ImportLimits,
  budget: { files: number },
  out: ImportRead,
): void {
  const name = path.split('/').pop() ?? path;
  if (!NOTE_FILE.test(name)) {
    out.problems.push({ path, kind: 'skipped', message: 'not a Markdown (.md) file' });
    return;
  }
  if (++budget.files > limit.maxFiles) {
    out.problems.push({
      path,
      kind: 'error',
      message: `too many files: at most ${limit.maxFiles} are imported at once`,
    });
    return;
  }
  if (bytes.length > limit.maxFileBytes) {
    out.problems.push({ path, kind: 'error', message: tooLarge(bytes.length, limit) });
    return;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    out.problems.push({ path, kind: 'error', message: 'not UTF-8 text' });
    return;
  }
  try {
    out.notes.push({ path, note: parseNoteFile(text, name.replace(NOTE_FILE, '')) });
  } catch (error) {
    if (!(error instanceof NoteFileError)) throw error;
    out.problems.push({ path, kind: 'error', message: error.message });
  }
}

function tooLarge(size: number, limit: ImportLimits): string {
  return `too large (${formatBytes(size)}; the limit is ${formatBytes(limit.maxFileBytes)})`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Streams each entry out of a zip, counting what it inflates, so a zip bomb
 * stops at the limit instead of filling memory (declared sizes may lie).
 */
function readZip(
  input: ImportInput,
  limit: ImportLimits,
  budget: { files: number; bytes: number },
  out: ImportRead,
): void {
  const entries: { name: string; chunks: Uint8Array[]; size: number; problem: string | null }[] =
    [];
  const unzip = new Unzip((file) => {
    if (file.name.endsWith('/')) return;
    const entry = {
      name: file.name,
      chunks: [] as Uint8Array[],
      size: 0,
      problem: null as string | null,
    };
    entries.push(entry);
    if (!NOTE_FILE.test(file.name) || /\.zip$/i.test(file.name)) return;
    if (file.originalSize !== undefined && file.originalSize > limit.maxFileBytes) {
      entry.problem = tooLarge(file.originalSize, limit);
      return;
    }
    file.ondata = (error, chunk) => {
      if (entry.problem !== null) return;
      if (error !== null) {
        entry.problem = `cannot be unzipped: ${error.message}`;
        return;
      }
      entry.size += chunk.length;
      budget.bytes += chunk.length;
      if (entry.size > limit.maxFileBytes) entry.problem = tooLarge(entry.size, limit);
      else if (budget.bytes > limit.maxTotalBytes) {
        entry.problem = `the zips unpack to more than ${formatBytes(limit.maxTotalBytes)}`;
      } else {
        entry.chunks.push(chunk);
        return;
      }
      entry.chunks = [];
      file.terminate();
    };
    try {
      file.start();
    } catch (error) {
      entry.problem = `cannot be unzipped: ${error instanceof Error ? error.message : String(error)}`;
    }
  });
  unzip.register(UnzipInflate);
  try {
    unzip.push(input.bytes, true);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    out.problems.push({
      path: input.name,
      kind: 'error',
      message: `not a readable zip: ${message}`,
    });
    return;
  }
  if (entries.length === 0) {
    const zip = ZIP_MAGIC.every((byte, index) => input.bytes[index] === byte);
    out.problems.push(
      zip
        ? { path: input.name, kind: 'skipped', message: 'the zip holds no files' }
        : { path: input.name, kind: 'error', message: 'not a zip file' },
    );
  }
  for (const entry of entries) {
    const path = `${input.name}/${entry.name}`;
    if (/\.zip$/i.test(entry.name)) {
      out.problems.push({ path, kind: 'skipped', message: 'a zip inside a zip is not opened' });
    } else if (entry.problem !== null) {
      budget.files++;
      out.problems.push({ path, kind: 'error', message: entry.problem });
    } else {
      readOne(path, concat(entry.chunks, entry.size), limit, budget, out);
    }
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
