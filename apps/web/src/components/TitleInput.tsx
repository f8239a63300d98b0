import type { NoteStore } from '@lattice/notes';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type * as Y from 'yjs';
import { type DeltaOp, mapIndex } from '../lib/mapIndex.ts';

interface Props {
  store: NoteStore;
  noteId: string;
  /** The note's title in the index doc. */
  title: Y.Text;
  autoFocus: boolean;
  /** Read-only link: the title shows but cannot be changed. */
  readOnly?: boolean;
  /** Enter moves on to the body. */
  onEnter(): void;
}

/** The open note's title, bound to its Y.Text: local typing renames, remote renames show at once. */
export function TitleInput({ store, noteId, title, autoFocus, readOnly = false, onEnter }: Props) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState(() => title.toString());
  const pendingSelection = useRef<[number, number] | null>(null);

  useEffect(() => {
    setValue(title.toString());
    const onChange = (event: Y.YTextEvent) => {
      if (event.transaction.local) return;
      const input = inputRef.current;
      if (input && document.activeElement === input) {
        const delta = event.delta as DeltaOp[];
        pendingSelection.current = [
          mapIndex(input.selectionStart ?? 0, delta),
          mapIndex(input.selectionEnd ?? 0, delta),
        ];
      }
      setValue(title.toString());
    };
    title.observe(onChange);
    return () => title.unobserve(onChange);
  }, [title]);

  // Restore the caret after React wrote a remotely changed value into the focused input.
  useLayoutEffect(() => {
    const selection = pendingSelection.current;
    pendingSelection.current = null;
    if (selection) inputRef.current?.setSelectionRange(selection[0], selection[1]);
  });

  useEffect(() => {
    if (autoFocus) inputRef.current?.focus();
  }, [autoFocus]);

  return (
    <input
      ref={inputRef}
      className="note-title"
      data-testid="note-title"
      aria-label="Title"
      placeholder="Untitled"
      value={value}
      readOnly={readOnly}
      onChange={(event) => {
        if (readOnly) return;
        setValue(event.target.value);
        store.rename(noteId, event.target.value);
      }}
      onKeyDown={(event) => {
        if (event.key === 'Enter' && !event.nativeEvent.isComposing) {
          event.preventDefault();
          onEnter();
        }
      }}
    />
  );
}
