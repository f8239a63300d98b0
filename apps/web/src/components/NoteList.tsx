import type { NoteSummary } from '@lattice/notes';
import { useNow } from '../hooks/useNow.ts';
import { NoteListItem } from './NoteListItem.tsx';

interface Props {
  notes: NoteSummary[];
  trashed: boolean;
  searching: boolean;
  selectedId: string | null;
  onOpen(id: string): void;
}

/** The sidebar's notes or trash, with an explanation when there is nothing to show. */
export function NoteList({ notes, trashed, searching, selectedId, onOpen }: Props) {
  const now = useNow();
  if (notes.length === 0) {
    const [title, hint] = searching
      ? ['No results', 'Try other words.']
      : trashed
        ? ['Trash is empty', 'Deleted notes stay here until you delete them forever.']
        : ['No notes yet', 'Create one with “New note”.'];
    return (
      <div className="empty-state">
        <p className="empty-title">{title}</p>
        <p className="empty-hint">{hint}</p>
      </div>
    );
  }
  return (
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
  );
}
