import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** One edit: splice `deleted` code points at `pos`, then insert `inserted`. */
export type Patch = [pos: number, deleted: number, inserted: string];

export interface Trace {
  name: string;
  /** Where it came from: the shared file, or `generated` (fallback). */
  source: string;
  patches: Patch[];
  endContent: string;
}

/** `../shared/traces` from the repo root (never copied into the repo). */
const TRACES_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'shared',
  'traces',
);

/**
 * Loads `automerge-paper` or `seph-blog1` from ../shared/traces; when absent,
 * a seeded synthetic trace of `fallbackEdits` keystrokes (typing with
 * occasional backspaces and cursor jumps) so the benchmark still runs.
 */
export async function loadTrace(name: string, fallbackEdits = 100_000): Promise<Trace> {
  const path = join(process.env.LATTICE_TRACES_DIR ?? TRACES_DIR, `${name}.json.gz`);
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch {
    return generatedTrace(name, fallbackEdits);
  }
  const json = JSON.parse(gunzipSync(raw).toString('utf8')) as {
    endContent: string;
    txns: Array<{ patches: Patch[] }>;
  };
  const patches: Patch[] = [];
  for (const txn of json.txns) for (const p of txn.patches) patches.push(p);
  return { name, source: path, patches, endContent: json.endContent };
}

/** A deterministic synthetic trace (code points = UTF-16 units: ASCII only). */
export function generatedTrace(name: string, edits: number, seed = 1): Trace {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const text: string[] = [];
  let cursor = 0;
  const patches: Patch[] = [];
  for (let i = 0; i < edits; i++) {
    const r = random();
    if (r < 0.02) cursor = Math.floor(random() * (text.length + 1));
    if (r < 0.1 && cursor > 0) {
      patches.push([cursor - 1, 1, '']);
      text.splice(cursor - 1, 1);
      cursor--;
    } else {
      const ch = 'abcdefghijklmnopqrstuvwxyz  \n'[Math.floor(random() * 29)] as string;
      patches.push([cursor, 0, ch]);
      text.splice(cursor, 0, ch);
      cursor++;
    }
  }
  return { name: `${name} (generated)`, source: 'generated', patches, endContent: text.join('') };
}
