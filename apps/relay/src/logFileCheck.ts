import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c, unmaskCrc } from './crc32c.ts';

/** LevelDB write-ahead logs are written in blocks of this size; no record crosses a block end. */
const BLOCK_SIZE = 32_768;
/** checksum (4) + length (2) + type (1). */
const HEADER_SIZE = 7;
const ZERO_TYPE = 0;
const LAST_TYPE = 4;

/** One problem found in a LevelDB log file. */
export interface LogFileProblem {
  file: string;
  offset: number;
  problem: string;
}

/**
 * Checks every physical record of a LevelDB log (`NNNNNN.log`, also the
 * `MANIFEST-NNNNNN` format) against its CRC-32C. LevelDB's own recovery
 * (without `paranoid_checks`, which classic-level does not expose) skips a
 * corrupt block with a note in its LOG file and then deletes the log: acked
 * writes would vanish without a word. A record cut off by the end of the
 * file is accepted, as LevelDB does: a write in progress when the process
 * died, never synced, so never acked.
 */
export function checkLogBytes(file: string, bytes: Uint8Array): LogFileProblem | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const blockEnd = (Math.floor(offset / BLOCK_SIZE) + 1) * BLOCK_SIZE;
    if (blockEnd - offset < HEADER_SIZE) {
      // The block's trailer: too short for a header, zero-filled by the writer.
      for (let i = offset; i < Math.min(blockEnd, bytes.length); i++) {
        if (bytes[i] !== 0) return { file, offset: i, problem: 'non-zero block trailer' };
      }
      offset = blockEnd;
      continue;
    }
    if (offset + HEADER_SIZE > bytes.length) return undefined;
    const masked = view.getUint32(offset, true);
    const length = view.getUint16(offset + 4, true);
    const type = bytes[offset + 6]!;
    if (type === ZERO_TYPE && length === 0 && masked === 0) {
      // Zero-filled (preallocated) space: LevelDB skips the rest of the block too.
      for (let i = offset; i < Math.min(blockEnd, bytes.length); i++) {
        if (bytes[i] !== 0) return { file, offset, problem: 'data after a zero record' };
      }
      offset = blockEnd;
      continue;
    }
    const end = offset + HEADER_SIZE + length;
    if (end > blockEnd) {
      return { file, offset, problem: `record length ${length} runs past its block` };
    }
    if (end > bytes.length) {
      // A torn final write: only acceptable as the very end of the file.
      return undefined;
    }
    if (type > LAST_TYPE) return { file, offset, problem: `unknown record type ${type}` };
    const crc = crc32c(
      bytes.subarray(offset + 7, end),
      crc32c(bytes.subarray(offset + 6, offset + 7)),
    );
    if (crc !== unmaskCrc(masked)) return { file, offset, problem: 'checksum mismatch' };
    offset = end;
  }
  return undefined;
}

/**
 * Checks every write-ahead log and manifest in LevelDB directory `dir`;
 * returns the first problem, or `undefined` when all records are intact.
 */
export async function checkLogFiles(dir: string): Promise<LogFileProblem | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    // Missing or unreadable: LevelDB's open reports it.
    return undefined;
  }
  for (const name of names.sort()) {
    if (!/^\d+\.log$/.test(name) && !/^MANIFEST-\d+$/.test(name)) continue;
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    const problem = checkLogBytes(name, bytes);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
