import type { NoteSummary } from '@lattice/notes';
import { memo } from 'react';
import { relativeTime } from '../lib/relativeTime.ts';
import type { WorkspacePeer } from '../lib/workspacePresence.ts';

interface Props {
  note: NoteSummary;
  selected: boolean;
  now: number;
  onOpen(id: string): void;
  /** Others who have this note open. */
  peers?: readonly WorkspacePeer[] | undefined;
  /** 1-based place in the whole list and its length: the list is windowed, so the DOM alone does not tell assistive tech. */
  position?: number;
  total?: number;
}

/**
 * One sidebar entry: title (or "Untitled"), snippet and when it last changed.
 * Memoized: summaries are frozen objects replaced only when the note changes,
 * so a sync-status change or another note's edit re-renders no other row.
 */
export const NoteListItem = memo(function NoteListItem({
  note,
  selected,
  now,
  onOpen,
  peers,
  position,
  total,
}: Props) {
  const when = note.trashedAt === null ? note.updatedAt : note.trashedAt;
  return (
    <li
      className="note-item"
      data-testid="note-item"
      data-note-id={note.id}
      data-arriving={String(note.arriving)}
      aria-posinset={position}
      aria-setsize={total}
    >
      <button
        type="button"
        className="note-open"
        aria-current={selected ? 'page' : undefined}
        onClick={() => onOpen(note.id)}
      >
        <span className={note.title.trim() ? 'note-item-title' : 'note-item-title untitled'}>
          {peers !== undefined && peers.length > 0 ? (
            <span
              className="note-presence"
              data-testid="note-presence"
              role="img"
              aria-label={`Open by ${peers.map((peer) => peer.name).join(', ')}`}
              title={`Open by ${peers.map((peer) => peer.name).join(', ')}`}
            >
              {peers.slice(0, 3).map((peer) => (
                <span
                  key={peer.clientId}
                  className="note-presence-dot"
                  style={{ backgroundColor: peer.color }}
                />
              ))}
            </span>
          ) : null}
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
