import type { NoteStore, NoteSummary } from '@lattice/notes';
import {
  encodeListSnapshot,
  type ListMarker,
  type ListSnapshot,
  newListToken,
  sameList,
} from './listSnapshot.ts';

/** Quiet time before a changed list is stored (typing re-sorts the list every second). */
export const LIST_SNAPSHOT_DEBOUNCE_MS = 1000;

interface Options {
  workspaceId: string;
  store: NoteStore;
  marker: ListMarker;
  /** Stores the encoded snapshot (the workspace's meta area). */
  write(bytes: Uint8Array): Promise<void>;
  /** The snapshot this start painted, if any: while the list still equals it, nothing is written. */
  painted: ListSnapshot | null;
}

/**
 * Keeps the workspace's list snapshot (`listSnapshot.ts`) current: moves the
 * marker the moment the list's content changes, before the change renders,
 * and stores the snapshot once the list has been quiet for a while.
 */
export class ListSnapshotKeeper {
  readonly #options: Options;
  #shown: { notes: NoteSummary[]; trashCount: number };
  #token: string;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #unsubscribe: () => void;
  #removePageHide: () => void = () => {};
  #closed = false;

  constructor(options: Options) {
    this.#options = options;
    const { store, painted } = options;
    this.#shown = { notes: store.list(), trashCount: store.list({ trashed: true }).length };
    if (
      painted !== null &&
      painted.trashCount === this.#shown.trashCount &&
      sameList(painted.notes, this.#shown.notes)
    ) {
      this.#token = painted.token;
    } else {
      this.#token = this.#moveMarker();
      this.#schedule();
    }
    this.#unsubscribe = store.subscribe(() => this.#onChange());
    const target = globalThis as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
    };
    if (typeof target.addEventListener === 'function') {
      // A page going away would lose a pending write: the next start then waits for the index.
      const onPageHide = () => this.flush();
      target.addEventListener('pagehide', onPageHide);
      this.#removePageHide = () => target.removeEventListener?.('pagehide', onPageHide);
    }
  }

  /** Stores a pending snapshot now. */
  flush(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#write();
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#unsubscribe();
    this.#removePageHide();
  }

  #onChange(): void {
    if (this.#closed) return;
    const { store } = this.#options;
    const notes = store.list();
    const trashCount = store.list({ trashed: true }).length;
    if (trashCount === this.#shown.trashCount && sameList(notes, this.#shown.notes)) return;
    this.#shown = { notes, trashCount };
    this.#token = this.#moveMarker();
    this.#schedule();
  }

  #moveMarker(): string {
    const token = newListToken();
    this.#options.marker.write(this.#options.workspaceId, token);
    return token;
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#write();
    }, LIST_SNAPSHOT_DEBOUNCE_MS);
  }

  #write(): void {
    const { marker, workspaceId, write } = this.#options;
    // Another tab showed a later list since: its snapshot is the one to keep.
    if (marker.read(workspaceId) !== this.#token) return;
    write(encodeListSnapshot({ token: this.#token, ...this.#shown })).catch(() => {
      // Not stored: the next start does not match it and waits for the index doc.
    });
  }
}
