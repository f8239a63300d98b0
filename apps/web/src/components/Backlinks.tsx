import type { NoteStore } from '@lattice/notes';
import { useBacklinks } from '../hooks/useBacklinks.ts';

interface Props {
  store: NoteStore;
  noteId: string;
  onOpen(id: string): void;
}

/**
 * The notes linking to the open note, each with its current title and the
 * line that links here. Known without loading those notes (the link index).
 */
export function Backlinks({ store, noteId, onOpen }: Props) {
  const backlinks = useBacklinks(store, noteId);
  return (
    <section className="backlinks" data-testid="backlinks-panel" aria-labelledby="backlinks-title">
      <h2 id="backlinks-title" className="backlinks-title">
        Linked from{backlinks.length > 0 ? ` (${backlinks.length})` : ''}
      </h2>
      {backlinks.length === 0 ? (
        <p className="backlinks-empty">
          No other note links here yet. Type <kbd>[[</kbd> in a note to link to another.
        </p>
      ) : (
        <ul className="backlinks-list">
          {backlinks.map((link) => (
            <li key={link.id}>
              <button
                type="button"
                className="backlink"
                data-testid="backlink"
                data-note-id={link.id}
                onClick={() => onOpen(link.id)}
              >
                <span className="backlink-title">{link.title.trim() || 'Untitled'}</span>
                {link.snippet ? <span className="backlink-snippet">{link.snippet}</span> : null}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
