import type { NoteSummary } from '@lattice/notes';
import { memo } from 'react';
import { relativeTime } from '../lib/relativeTime.ts';

interface Props {
  note: NoteSummary;
  selected: boolean;
  now: number;
  onOpen(id: string): void;
}

/**
 * One sidebar entry: title (or "Untitled"), snippet and when it last changed.
 * Memoized: summaries are frozen objects replaced only when the note changes,
 * so a sync-status change or another note's edit re-renders no other row.
 */
export const NoteListItem = memo(function NoteListItem({ note, selected, now, onOpen }: Props) {
  const when = note.trashedAt === null ? note.updatedAt : note.trashedAt;
  return (
    <li
      className="note-item"
      data-testid="note-item"
      data-note-id={note.id}
      data-arriving={String(note.arriving)}
    >
      <button
        type="button"
        className="note-open"
        aria-current={selected ? 'page' : undefined}
        onClick={() => onOpen(note.id)}
      >
        <span className={note.title.trim() ? 'note-item-title' : 'note-item-title untitled'}>
          {note.title.trim() || 'Untitled'}
        </span>
        {note.arriving ? (
          <span className="note-item-snippet arriving" data-testid="note-item-arriving">
            Arriving…
          </span>
        ) : (
          <span className="note-item-snippet">{note.snippet || 'No text'}</span>
        )}
        <time className="note-item-time" dateTime={new Date(when).toISOString()}>
          {note.trashedAt === null ? '' : 'Deleted '}
          {relativeTime(when, now)}
        </time>
      </button>
    </li>
  );
});
