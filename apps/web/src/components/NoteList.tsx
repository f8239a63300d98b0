import type { NoteSummary } from '@lattice/notes';
import { memo, useEffect, useRef, useState } from 'react';
import { useNow } from '../hooks/useNow.ts';
import { Mark, mark } from '../lib/marks.ts';
import { NoteListItem } from './NoteListItem.tsx';

/**
 * Rows rendered at first, and added each time the end of the list scrolls into
 * view. Rendering every row of a 5,000-note workspace took most of a second
 * before anything showed (issue 6, cold load); a sidebar shows a dozen rows.
 */
export const LIST_PAGE = 100;

interface Props {
  notes: NoteSummary[];
  trashed: boolean;
  searching: boolean;
  selectedId: string | null;
  /** The list itself (index doc) is behind what this session has seen: more notes are on their way. */
  arriving?: boolean;
  onOpen(id: string): void;
}

/**
 * The sidebar's notes or trash, with an explanation when there is nothing to
 * show. Memoized: the workspace view re-renders on every sync-status change,
 * the list only when its notes (a stable array per store version) change.
 */
export const NoteList = memo(function NoteList({
  notes,
  trashed,
  searching,
  selectedId,
  arriving = false,
  onOpen,
}: Props) {
  const now = useNow();
  const [limit, setLimit] = useState(LIST_PAGE);
  const more = useRef<HTMLLIElement>(null);
  const truncated = notes.length > limit;
  // biome-ignore lint/correctness/useExhaustiveDependencies: limit re-runs it on purpose (see below)
  useEffect(() => {
    const sentinel = more.current;
    if (!truncated || sentinel === null) return;
    // Without IntersectionObserver (old engines, tests) every row renders at once.
    if (typeof IntersectionObserver === 'undefined') {
      setLimit(Number.POSITIVE_INFINITY);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setLimit((l) => l + LIST_PAGE);
      },
      { rootMargin: '600px 0px' },
    );
    // Observed afresh after each page: the first callback reports whether the
    // end is still in view (a tall window may need several pages).
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [truncated, limit]);
  const shown = notes.length;
  useEffect(() => {
    // Once per page: the first commit of a non-empty list (cold-load benchmark).
    if (shown > 0) mark(Mark.listShown, { count: shown }, true);
  }, [shown]);
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
        {(truncated ? notes.slice(0, limit) : notes).map((note) => (
          <NoteListItem
            key={note.id}
            note={note}
            selected={note.id === selectedId}
            now={now}
            onOpen={onOpen}
          />
        ))}
        {truncated ? (
          <li ref={more} className="note-list-more" aria-hidden="true" data-testid="list-more" />
        ) : null}
      </ul>
    </>
  );
});
