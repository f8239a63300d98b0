import type { NoteSummary } from '@lattice/notes';
import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useNow } from '../hooks/useNow.ts';
import { Mark, mark } from '../lib/marks.ts';
import { rowWindow, scrollToRow } from '../lib/windowing.ts';
import type { WorkspacePeer } from '../lib/workspacePresence.ts';
import { EmptyState } from './EmptyState.tsx';
import { NoteListItem } from './NoteListItem.tsx';

/**
 * Row height (px) until the first row is measured; CSS gives every row the
 * same height (`.note-item`), which is what makes windowing exact.
 */
const ESTIMATED_ROW = 79;
/** Viewport height until measured (and where there is no layout, e.g. tests). */
const ESTIMATED_VIEWPORT = 900;

interface Props {
  notes: NoteSummary[];
  trashed: boolean;
  searching: boolean;
  selectedId: string | null;
  /** The list itself (index doc) is behind what this session has seen: more notes are on their way. */
  arriving?: boolean;
  onOpen(id: string): void;
  /** The notes in view changed (rows in the viewport first, then the overscan): to warm them. */
  onWindow?: (ids: readonly string[]) => void;
  /** Who else has each note open (workspace presence). */
  presence?: ReadonlyMap<string, readonly WorkspacePeer[]>;
  /** "New note" in the empty list (absent when notes cannot be created here). */
  onCreate?: () => void;
  /** Label of the new-note shortcut, shown with the call to action. */
  createShortcut?: string;
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
  onWindow,
  presence,
  onCreate,
  createShortcut,
}: Props) {
  const now = useNow();
  const listRef = useRef<HTMLUListElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(ESTIMATED_VIEWPORT);
  const [rowHeight, setRowHeight] = useState(ESTIMATED_ROW);
  const empty = notes.length === 0;
  useLayoutEffect(() => {
    const list = listRef.current;
    if (empty || list === null) return;
    const measure = () => {
      if (list.clientHeight > 0) setViewport(list.clientHeight);
      const row = list.querySelector<HTMLElement>('.note-item');
      if (row !== null && row.offsetHeight > 0) setRowHeight(row.offsetHeight);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    // Window size, phone rotation, font size: the viewport and row height follow.
    const observer = new ResizeObserver(measure);
    observer.observe(list);
    return () => observer.disconnect();
  }, [empty]);
  const selectedIndex = selectedId === null ? -1 : notes.findIndex((n) => n.id === selectedId);
  const inViewNow = useRef({ scrollTop, viewport });
  inViewNow.current = { scrollTop, viewport };
  useEffect(() => {
    // Keyboard navigation (Alt-Up/Down) can select a row outside the rendered window.
    const list = listRef.current;
    if (list === null || selectedIndex < 0) return;
    // A row known to be in view (a click) needs no layout read: reading the
    // list's geometry here forced a layout in every note open (bench `coldload`).
    const known = inViewNow.current;
    if (
      scrollToRow(selectedIndex, rowHeight, known.scrollTop, known.viewport) === known.scrollTop
    ) {
      return;
    }
    const top = scrollToRow(selectedIndex, rowHeight, list.scrollTop, list.clientHeight);
    if (top !== list.scrollTop) list.scrollTop = top;
  }, [selectedIndex, rowHeight]);
  const shown = notes.length;
  const { start, end, before, after } = rowWindow(notes.length, rowHeight, scrollTop, viewport);
  const inView = rowWindow(notes.length, rowHeight, scrollTop, viewport, 0);
  useEffect(() => {
    if (onWindow === undefined) return;
    const ids: string[] = [];
    for (let i = inView.start; i < inView.end; i++) ids.push((notes[i] as NoteSummary).id);
    for (let i = start; i < end; i++) {
      if (i < inView.start || i >= inView.end) ids.push((notes[i] as NoteSummary).id);
    }
    onWindow(ids);
  }, [onWindow, notes, start, end, inView.start, inView.end]);
  useEffect(() => {
    // Once per page: the first commit of a non-empty list (cold-load benchmark).
    if (shown > 0) mark(Mark.listShown, { count: shown }, true);
  }, [shown]);
  if (notes.length === 0) {
    // "No notes yet" would be a stale answer presented as current.
    if (arriving) {
      return (
        <EmptyState
          testId="list-arriving"
          role="status"
          title="Notes are still arriving"
          hint="This device has not yet received everything you have seen. They appear as soon as they sync."
        />
      );
    }
    if (searching) {
      return (
        <EmptyState
          testId="empty-search"
          role="status"
          title="No results"
          hint={
            trashed
              ? 'Nothing in the trash matches. Try other words.'
              : 'Try other words, or fewer of them.'
          }
        />
      );
    }
    if (trashed) {
      return (
        <EmptyState
          testId="empty-trash"
          title="Trash is empty"
          hint="Notes you move to the trash stay here until you delete them forever."
        />
      );
    }
    return (
      <EmptyState
        testId="empty-notes"
        title="No notes yet"
        hint="Your notes are saved on this device and synced to your relay."
        {...(onCreate
          ? { action: { label: 'New note', onClick: onCreate, shortcut: createShortcut } }
          : {})}
      />
    );
  }
  return (
    <>
      {arriving ? (
        <p className="list-arriving" data-testid="list-arriving" role="status">
          More notes are still arriving…
        </p>
      ) : null}
      <ul
        ref={listRef}
        className="note-list"
        aria-label={trashed ? 'Trash' : 'Notes'}
        data-testid="note-list"
        data-count={notes.length}
        onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      >
        {/* Spacers stand for the rows outside the window, so the scrollbar is the whole list's. */}
        {before > 0 ? (
          <li className="note-list-spacer" aria-hidden="true" style={{ height: before }} />
        ) : null}
        {notes.slice(start, end).map((note, i) => (
          <NoteListItem
            key={note.id}
            note={note}
            selected={note.id === selectedId}
            now={now}
            onOpen={onOpen}
            peers={presence?.get(note.id)}
            position={start + i + 1}
            total={notes.length}
          />
        ))}
        {after > 0 ? (
          <li className="note-list-spacer" aria-hidden="true" style={{ height: after }} />
        ) : null}
      </ul>
    </>
  );
});
