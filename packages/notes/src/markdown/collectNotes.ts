import type { NoteStore, NoteSummary } from '../NoteStore.ts';
import type { ExportedNote } from './exportNotes.ts';

/** Options of `collectNotes`. */
export interface CollectOptions {
  /** Only these notes (default: every note, trashed ones included). */
  ids?: readonly string[];
  /** How long to wait for a note still arriving before exporting what is here (ms, default 5000). */
  arrivalTimeoutMs?: number;
  /** Called after each note with how many are done. */
  onProgress?: (done: number, total: number) => void;
}

/** Notes read for an export; `incomplete` lists notes exported while still arriving. */
export interface CollectedNotes {
  notes: ExportedNote[];
  incomplete: string[];
}

/**
 * Reads every note (title, body, dates, trash) through the store, opening
 * each note doc in turn, so notes never opened on this device are included.
 */
export async function collectNotes(
  store: NoteStore,
  options: CollectOptions = {},
): Promise<CollectedNotes> {
  const summaries: NoteSummary[] =
    options.ids === undefined
      ? [...store.list(), ...store.list({ trashed: true })]
      : options.ids.map((id) => {
          const summary = store.get(id);
          if (summary === undefined) throw new Error(`export: no note ${id}`);
          return summary;
        });
  const timeout = options.arrivalTimeoutMs ?? 5000;
  const notes: ExportedNote[] = [];
  const incomplete: string[] = [];
  for (const summary of summaries) {
    const handle = await store.openNote(summary.id);
    try {
      if (handle.arriving && !(await arrivedWithin(handle.whenArrived(), timeout))) {
        incomplete.push(summary.id);
      }
      // Read after the wait: the title or dates may have changed meanwhile.
      const now = store.get(summary.id) ?? summary;
      notes.push({
        id: now.id,
        title: handle.title.toString(),
        body: handle.body.toString(),
        createdAt: now.createdAt,
        updatedAt: now.updatedAt,
        trashedAt: now.trashedAt,
      });
    } finally {
      handle.release();
    }
    options.onProgress?.(notes.length, summaries.length);
  }
  return { notes, incomplete };
}

async function arrivedWithin(arrival: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([arrival.then(() => true), timedOut]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
