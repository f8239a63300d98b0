import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  DEFAULT_IMPORT_LIMITS,
  type ImportInput,
  type ImportProblem,
} from '@lattice/notes/markdown';
import { CliError } from './CliError.ts';

const READ = /\.(md|markdown|zip)$/i;

/**
 * The files an import reads: each argument a file or a directory (walked,
 * named `<dir>/<relative path>`; dot-files and dot-directories such as
 * `.git` left out). Only `.md`, `.markdown` and `.zip` are read; others are
 * passed on empty so the report lists them as skipped, and files too large
 * to ever import are reported without reading them.
 */
export async function readInputs(
  paths: readonly string[],
): Promise<{ inputs: ImportInput[]; problems: ImportProblem[] }> {
  const inputs: ImportInput[] = [];
  const problems: ImportProblem[] = [];
  const add = async (path: string, name: string, size: number) => {
    if (!READ.test(name)) {
      inputs.push({ name, bytes: new Uint8Array(0) });
    } else if (size > DEFAULT_IMPORT_LIMITS.maxTotalBytes) {
      problems.push({ path: name, kind: 'error', message: `too large (${size} bytes)` });
    } else {
      inputs.push({ name, bytes: new Uint8Array(await readFile(path)) });
    }
  };
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch (error) {
      throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    if (info.isDirectory()) {
      const root = basename(path.replace(/\/+$/, '')) || 'import';
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .filter(
          (full) =>
            !full
              .slice(path.length)
              .split('/')
              .some((part) => part.startsWith('.')),
        )
        .sort();
      for (const full of files) {
        const relative = full.slice(path.length).replace(/^\/+/, '');
        await add(full, `${root}/${relative}`, (await stat(full)).size);
      }
    } else {
      await add(path, basename(path), info.size);
    }
  }
  return { inputs, problems };
}
