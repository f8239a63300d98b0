import { useCallback, useEffect, useState } from 'react';
import type * as Y from 'yjs';
import {
  type HistoryClient,
  HistoryError,
  type VersionContent,
  type VersionSummary,
} from '../workspace/HistoryClient.ts';

/** What the history panel shows about the version list. */
export type VersionList =
  | { state: 'loading' }
  | { state: 'offline' }
  | { state: 'error'; message: string }
  | { state: 'ready'; versions: VersionSummary[] };

function problemOf(error: unknown): VersionList {
  if (error instanceof HistoryError && error.status === 0) return { state: 'offline' };
  return { state: 'error', message: error instanceof Error ? error.message : String(error) };
}

/** The note's versions from the relay (`client` null: no relay), reloaded by `reload`. */
export function useVersionList(
  client: HistoryClient | null,
  noteId: string,
): [VersionList, () => void] {
  const [list, setList] = useState<VersionList>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is the reload trigger
  useEffect(() => {
    if (client === null || (typeof navigator !== 'undefined' && navigator.onLine === false)) {
      setList({ state: 'offline' });
      return;
    }
    let live = true;
    setList((current) => (current.state === 'ready' ? current : { state: 'loading' }));
    client.versions(noteId).then(
      (versions) => {
        if (live) setList({ state: 'ready', versions });
      },
      (error: unknown) => {
        if (live) setList(problemOf(error));
      },
    );
    return () => {
      live = false;
    };
  }, [client, noteId, generation]);
  return [list, reload];
}

/** One version's content once fetched (`null` while none is selected or loading). */
export function useVersionContent(
  client: HistoryClient | null,
  noteId: string,
  versionId: string | null,
): { content: VersionContent | null; error: string | null } {
  const [content, setContent] = useState<VersionContent | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setContent(null);
    setError(null);
    if (client === null || versionId === null) return;
    let live = true;
    client.version(noteId, versionId).then(
      (value) => {
        if (live) setContent(value);
      },
      (err: unknown) => {
        if (!live) return;
        setError(
          err instanceof HistoryError && err.status === 0
            ? 'History needs a connection to a relay.'
            : err instanceof Error
              ? err.message
              : String(err),
        );
      },
    );
    return () => {
      live = false;
    };
  }, [client, noteId, versionId]);
  return { content, error };
}

/** The text's current string, re-read on every change. */
export function useTextValue(text: Y.Text): string {
  const [value, setValue] = useState(() => text.toString());
  useEffect(() => {
    const update = () => setValue(text.toString());
    update();
    text.observe(update);
    return () => text.unobserve(update);
  }, [text]);
  return value;
}
