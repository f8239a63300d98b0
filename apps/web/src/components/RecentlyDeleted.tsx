import { useEffect, useState } from 'react';
import { useNow } from '../hooks/useNow.ts';
import { relativeTime } from '../lib/relativeTime.ts';
import { type HistoryClient, HistoryError, type PurgedNote } from '../workspace/HistoryClient.ts';
import './HistoryPanel.css';

interface Props {
  /** The relay's version history; `null` without a relay. */
  client: HistoryClient | null;
  readOnly: boolean;
  /** Creates a new note with this content (the purged note's id stays gone). */
  onRestore(title: string, body: string): Promise<void>;
}

/**
 * Notes deleted forever, as the relay remembers them (in the Trash view):
 * each can come back as a new note from its last version on the relay.
 */
export function RecentlyDeleted({ client, readOnly, onRestore }: Props) {
  const [notes, setNotes] = useState<PurgedNote[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [restored, setRestored] = useState<ReadonlySet<string>>(new Set());
  const now = useNow();

  useEffect(() => {
    if (client === null) return;
    let live = true;
    client.purged().then(
      (list) => {
        if (live) setNotes(list);
      },
      (err: unknown) => {
        if (!live) return;
        setProblem(
          err instanceof HistoryError && err.status === 0
            ? null
            : err instanceof Error
              ? err.message
              : String(err),
        );
      },
    );
    return () => {
      live = false;
    };
  }, [client]);

  if (client === null || (notes === null && problem === null) || notes?.length === 0) return null;

  const restore = async (note: PurgedNote) => {
    if (note.versionId === null) return;
    setBusy(note.noteId);
    try {
      const version = await client.version(note.noteId, note.versionId);
      await onRestore(version.title ?? note.title, version.body);
      setRestored((done) => new Set([...done, note.noteId]));
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section
      className="recently-deleted"
      aria-label="Deleted forever"
      data-testid="recently-deleted"
    >
      <h2>Deleted forever</h2>
      {problem !== null ? (
        <p className="history-message" role="alert">
          Deleted notes could not be loaded: {problem}
        </p>
      ) : null}
      <ul>
        {(notes ?? []).map((note) => (
          <li key={note.noteId} data-testid="purged-note">
            <span className="recently-deleted-title">{note.title || 'Untitled'}</span>
            <span className="history-reason">deleted {relativeTime(note.purgedAt, now)}</span>
            <button
              type="button"
              className="button subtle"
              data-testid="purged-restore"
              disabled={
                readOnly || note.versionId === null || busy !== null || restored.has(note.noteId)
              }
              onClick={() => void restore(note)}
            >
              {restored.has(note.noteId) ? 'Restored' : 'Restore as new note'}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
