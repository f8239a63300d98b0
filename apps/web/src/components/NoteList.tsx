import type { NoteSummary } from '@lattice/notes';
import { useNow } from '../hooks/useNow.ts';
import { NoteListItem } from './NoteListItem.tsx';

interface Props {
  notes: NoteSummary[];
  trashed: boolean;
  searching: boolean;
  selectedId: string | null;
  /** The list itself (index doc) is behind what this session has seen: more notes are on their way. */
  arriving?: boolean;
  onOpen(id: string): void;
}

/** The sidebar's notes or trash, with an explanation when there is nothing to show. */
export function NoteList({
  notes,
  trashed,
  searching,
  selectedId,
  arriving = false,
  onOpen,
}: Props) {
  const now = useNow();
  if (notes.length === 0) {
    // "No notes yet" would be a stale answer presented as current.
    const [title, hint] = arriving
      ? [
          'Notes are still arriving',
          'This device has not yet received everything you have seen. They appear as soon as they sync.',
        ]
      : searching
        ? ['No results', 'Try other words.']
        : trashed
          ? ['Trash is empty', 'Deleted notes stay here until you delete them forever.']
          : ['No notes yet', 'Create one with “New note”.'];
    return (
      <div className="empty-state" data-testid={arriving ? 'list-arriving' : undefined}>
        <p className="empty-title">{title}</p>
        <p className="empty-hint">{hint}</p>
      </div>
    );
  }
  return (
    <>
      {arriving ? (
        <p className="list-arriving" data-testid="list-arriving" role="status">
          More notes are still arriving…
        </p>
      ) : null}
      <ul className="note-list" aria-label={trashed ? 'Trash' : 'Notes'}>
        {notes.map((note) => (
          <NoteListItem
            key={note.id}
            note={note}
            selected={note.id === selectedId}
            now={now}
            onOpen={onOpen}
          />
        ))}
      </ul>
    </>
  );
}
