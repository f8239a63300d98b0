import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  collectNotes,
  exportMarkdownFiles,
  importNotes,
  readImportFiles,
  zipFiles,
} from '@lattice/notes/markdown';
import type { Command } from './args.ts';
import { CliError, ExitCode } from './CliError.ts';
import { Progress } from './Progress.ts';
import { RemoteWorkspace } from './RemoteWorkspace.ts';
import { readInputs } from './readInputs.ts';

/** Where results go: stdout for the summary, stderr for problems and progress. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Runs `lattice export`: every note (trash in `Trash/`) as Markdown into a zip or a directory. */
export async function runExport(command: Command, output: Output): Promise<number> {
  const out = command.out ?? '';
  const zip = /\.zip$/i.test(out);
  await checkOut(out, zip);
  const progress = new Progress(command.quiet, output.err);
  const remote = await RemoteWorkspace.open({ ...command, progress });
  try {
    const { notes, incomplete } = await collectNotes(remote.store, {
      onProgress: (done, total) => progress.count('reading notes', done, total),
    });
    const files = exportMarkdownFiles(notes);
    if (zip) {
      // Written beside the target and renamed: an interrupted export leaves the old zip whole.
      const partial = `${out}.partial`;
      await writeFile(partial, zipFiles(files));
      await rename(partial, out);
    } else {
      for (const file of files) {
        const path = join(out, file.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.text, { flag: 'wx' });
      }
    }
    const trashed = notes.filter((n) => n.trashedAt !== null).length;
    output.out(
      `exported ${notes.length} notes (${trashed} in the trash) of workspace ${command.workspace} to ${out}`,
    );
    if (incomplete.length > 0) {
      output.err(`warning: ${incomplete.length} notes were still arriving and may be incomplete`);
      return ExitCode.failed;
    }
    return ExitCode.ok;
  } finally {
    await remote.close();
  }
}

async function checkOut(out: string, zip: boolean): Promise<void> {
  if (zip) {
    const parent = await stat(dirname(out)).catch(() => null);
    if (parent === null || !parent.isDirectory()) {
      throw new CliError(`--out ${out}: the directory ${dirname(out)} does not exist`);
    }
    return;
  }
  const existing = await readdir(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new CliError(`--out ${out}: ${error.code ?? error.message}`);
  });
  if (existing.length > 0) {
    throw new CliError(
      `--out ${out} is not empty: export into a new or empty directory (or a .zip)`,
    );
  }
}

/** Runs `lattice import`: Markdown files, directories and zips as notes, waiting for durable acks. */
export async function runImport(command: Command, output: Output): Promise<number> {
  const { inputs, problems } = await readInputs(command.inputs);
  const read = readImportFiles(inputs);
  read.problems.unshift(...problems);
  const progress = new Progress(command.quiet, output.err);
  const remote = await RemoteWorkspace.open({ ...command, progress });
  try {
    if (remote.role === 'read') {
      throw new CliError('the token only allows reading: import needs a write or owner token');
    }
    const report = await importNotes(remote.store, read, {
      onProgress: (done, total) => progress.count('importing notes', done, total),
    });
    await remote.whenAcked(progress);
    for (const file of report.files) {
      if (file.status === 'error' || file.status === 'skipped') {
        output.err(
          `${file.status === 'error' ? 'error  ' : 'skipped'} ${file.path}: ${file.message}`,
        );
      }
    }
    output.out(
      `imported ${report.imported} notes into workspace ${command.workspace} ` +
        `(${report.unchanged} already there, ${report.skipped} skipped, ${report.errors} errors)`,
    );
    return report.errors > 0 ? ExitCode.failed : ExitCode.ok;
  } finally {
    await remote.close();
  }
}

/** Removes a partial zip left by a failed export (best effort). */
export async function cleanPartial(command: Command): Promise<void> {
  if (command.command === 'export' && command.out !== null && /\.zip$/i.test(command.out)) {
    await rm(`${command.out}.partial`, { force: true });
  }
}
