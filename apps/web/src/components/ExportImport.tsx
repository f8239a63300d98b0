import type { NoteStore } from '@lattice/notes';
import type { ImportReport } from '@lattice/notes/markdown';
import { useRef, useState } from 'react';
import { CloseButton } from './CloseButton.tsx';

// YAML and zip code load on first use, not with the app.
const lib = () => import('../lib/exportImport.ts');

interface Props {
  store: NoteStore;
  /** Read-only link: export works, import is disabled. */
  readOnly: boolean;
}

type Busy = { what: 'export' | 'import'; done: number; total: number } | null;

/** Sidebar tools: export the workspace as a zip of Markdown files, import Markdown files, a folder or a zip. */
export function ExportImport({ store, readOnly }: Props) {
  const filesRef = useRef<HTMLInputElement>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<Busy>(null);
  const [result, setResult] = useState<
    | { kind: 'import'; report: ImportReport }
    | { kind: 'message'; text: string; error: boolean }
    | null
  >(null);

  const progress = (what: 'export' | 'import') => (done: number, total: number) =>
    setBusy({ what, done, total });

  const onExport = () => {
    setBusy({ what: 'export', done: 0, total: 0 });
    setResult(null);
    lib()
      .then(({ exportWorkspace }) => exportWorkspace(store, progress('export')))
      .then(
        ({ name, count, incomplete }) =>
          setResult({
            kind: 'message',
            error: incomplete > 0,
            text:
              `Exported ${count} ${count === 1 ? 'note' : 'notes'} to ${name}.` +
              (incomplete > 0 ? ` ${incomplete} were still arriving and may be incomplete.` : ''),
          }),
        (error: unknown) =>
          setResult({ kind: 'message', error: true, text: `Export failed: ${message(error)}` }),
      )
      .finally(() => setBusy(null));
  };

  const onPicked = (input: HTMLInputElement | null) => {
    const files = input?.files ? [...input.files] : [];
    if (input) input.value = '';
    if (files.length === 0) return;
    setBusy({ what: 'import', done: 0, total: files.length });
    setResult(null);
    lib()
      .then(({ importBrowserFiles }) => importBrowserFiles(store, files, progress('import')))
      .then(
        (report) => setResult({ kind: 'import', report }),
        (error: unknown) =>
          setResult({ kind: 'message', error: true, text: `Import failed: ${message(error)}` }),
      )
      .finally(() => setBusy(null));
  };

  return (
    <div className="export-import">
      <div className="export-import-buttons">
        <button
          type="button"
          className="button subtle"
          data-testid="export-workspace"
          disabled={busy !== null}
          title="Download every note (the trash included) as Markdown files in a zip"
          onClick={onExport}
        >
          Export all
        </button>
        <button
          type="button"
          className="button subtle"
          data-testid="import-button"
          disabled={readOnly || busy !== null}
          title={
            readOnly
              ? 'Read-only: notes cannot be imported with this link'
              : 'Import Markdown files or a zip'
          }
          onClick={() => filesRef.current?.click()}
        >
          Import…
        </button>
        <button
          type="button"
          className="button subtle"
          data-testid="import-folder-button"
          disabled={readOnly || busy !== null}
          title="Import a folder of Markdown files"
          onClick={() => folderRef.current?.click()}
        >
          Import folder…
        </button>
        <input
          ref={filesRef}
          type="file"
          hidden
          multiple
          accept=".md,.markdown,.zip,text/markdown,application/zip"
          data-testid="import-input"
          aria-label="Markdown files or zips to import"
          onChange={(event) => onPicked(event.currentTarget)}
        />
        <input
          ref={folderRef}
          type="file"
          hidden
          multiple
          {...{ webkitdirectory: '' }}
          data-testid="import-folder-input"
          aria-label="Folder to import"
          onChange={(event) => onPicked(event.currentTarget)}
        />
      </div>
      {busy !== null ? (
        <div className="export-import-status" role="status" data-testid="export-import-busy">
          {busy.what === 'export' ? 'Exporting' : 'Importing'}
          {busy.total > 0 ? ` ${busy.done}/${busy.total}` : ''}…
        </div>
      ) : null}
      {result !== null ? (
        <div
          className="export-import-status"
          role={result.kind === 'message' && result.error ? 'alert' : 'status'}
          data-testid="import-result"
          data-imported={result.kind === 'import' ? result.report.imported : undefined}
          data-errors={result.kind === 'import' ? result.report.errors : undefined}
        >
          {result.kind === 'import' ? <ImportSummary report={result.report} /> : result.text}
          <CloseButton label="Dismiss" onClick={() => setResult(null)} />
        </div>
      ) : null}
    </div>
  );
}

function ImportSummary({ report }: { report: ImportReport }) {
  const problems = report.files.filter((f) => f.status === 'error' || f.status === 'skipped');
  const parts = [
    `Imported ${report.imported} ${report.imported === 1 ? 'note' : 'notes'}`,
    report.unchanged > 0 ? `${report.unchanged} already here` : null,
    report.skipped > 0 ? `${report.skipped} skipped` : null,
    report.errors > 0 ? `${report.errors} could not be read` : null,
  ].filter((part) => part !== null);
  return (
    <div className="import-summary">
      <span>{parts.join(', ')}.</span>
      {problems.length > 0 ? (
        <ul>
          {problems.slice(0, 20).map((file) => (
            <li key={file.path} data-status={file.status}>
              <strong>{file.path}</strong>: {file.message}
            </li>
          ))}
          {problems.length > 20 ? <li>…and {problems.length - 20} more</li> : null}
        </ul>
      ) : null}
    </div>
  );
}

/** Downloads the open note as `<title>.md`. */
export function ExportNoteButton({ store, noteId }: { store: NoteStore; noteId: string }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <button
      type="button"
      className="button subtle"
      data-testid="export-note"
      title={error ?? 'Download this note as a Markdown file'}
      onClick={() => {
        setError(null);
        lib()
          .then(({ exportNote }) => exportNote(store, noteId))
          .catch((e: unknown) => setError(`Export failed: ${message(e)}`));
      }}
    >
      {error === null ? 'Export' : 'Export failed'}
    </button>
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
