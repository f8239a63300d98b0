import type { NoteSummary } from '@lattice/notes';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useDialog } from '../hooks/useDialog.ts';
import { fuzzyFilter } from '../lib/fuzzy.ts';

/** Titles offered at once; typing narrows a 5,000-note workspace quickly enough. */
const SHOWN = 50;

interface Props {
  /** The workspace's notes (not trashed), newest first. */
  notes: readonly NoteSummary[];
  onOpen(id: string): void;
  onClose(): void;
}

/**
 * Mod-P: jump to a note by typing part of its title (fuzzy: the letters in
 * order). Arrow keys move, Enter opens, Escape closes and returns focus.
 */
export function QuickSwitcher({ notes, onOpen, onClose }: Props) {
  const dialog = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  useDialog(dialog, onClose, { modal: true, initialFocus: input });
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const listId = useId();
  const results = useMemo(
    () => fuzzyFilter(notes, query, (n) => n.title.trim() || 'Untitled', SHOWN),
    [notes, query],
  );
  const current = Math.min(active, results.length - 1);
  const optionId = (i: number) => `${listId}-${i}`;
  useEffect(() => {
    // Arrowing past the visible options keeps the active one in view.
    if (current >= 0)
      document.getElementById(`${listId}-${current}`)?.scrollIntoView({ block: 'nearest' });
  }, [current, listId]);

  const choose = (id: string | undefined) => {
    if (id === undefined) return;
    onClose();
    onOpen(id);
  };

  return (
    <div className="dialog-backdrop">
      <div
        ref={dialog}
        className="dialog quick-switcher"
        data-testid="quick-switcher"
        role="dialog"
        aria-modal="true"
        aria-label="Switch to a note"
        // A click outside (on the backdrop) takes focus away: that closes it, as Escape does.
        onBlur={(event) => {
          if (!event.currentTarget.contains(event.relatedTarget)) onClose();
        }}
      >
        <input
          ref={input}
          className="search quick-switcher-input"
          data-testid="quick-switcher-input"
          type="text"
          role="combobox"
          aria-expanded="true"
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={current >= 0 ? optionId(current) : undefined}
          aria-label="Note title"
          placeholder="Type a note title…"
          autoComplete="off"
          spellCheck={false}
          value={query}
          onChange={(event) => {
            setQuery(event.target.value);
            setActive(0);
          }}
          onKeyDown={(event) => {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
              event.preventDefault();
              const step = event.key === 'ArrowDown' ? 1 : -1;
              const n = results.length;
              if (n > 0) setActive((current + step + n) % n);
            } else if (event.key === 'Enter') {
              event.preventDefault();
              choose(results[current]?.item.id);
            }
          }}
        />
        <div id={listId} className="quick-switcher-list" role="listbox" aria-label="Notes">
          {results.map(({ item }, i) => (
            // Keyboard selection happens in the input (aria-activedescendant); a click picks too.
            // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input handles the keys
            <div
              key={item.id}
              id={optionId(i)}
              role="option"
              tabIndex={-1}
              aria-selected={i === current}
              className="quick-switcher-option"
              data-testid="quick-switcher-option"
              data-note-id={item.id}
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => choose(item.id)}
            >
              <span className={item.title.trim() ? 'qs-title' : 'qs-title untitled'}>
                {item.title.trim() || 'Untitled'}
              </span>
              {item.snippet ? <span className="qs-snippet">{item.snippet}</span> : null}
            </div>
          ))}
        </div>
        {results.length === 0 ? (
          <p className="quick-switcher-empty" data-testid="quick-switcher-empty" role="status">
            {notes.length === 0 ? 'No notes yet.' : `No note title matches “${query.trim()}”.`}
          </p>
        ) : null}
      </div>
    </div>
  );
}
