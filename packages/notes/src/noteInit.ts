import { assertIdSegment } from './ids.ts';

/** What `NoteStore.create` starts a note with; import passes everything, the app only a title. */
export interface NoteInit {
  title?: string;
  body?: string;
  /** Keep this id (an import); default a new one. */
  id?: string;
  /** ms since the epoch; default now. */
  createdAt?: number;
  /** Default `createdAt`. */
  updatedAt?: number;
  /** Create the note in the trash, trashed at this time. */
  trashedAt?: number | null;
}

/** Validates the optional fields of a `NoteInit`; returns its timestamps. */
export function checkNoteInit(init: NoteInit): {
  createdAt: number | undefined;
  updatedAt: number | undefined;
  trashedAt: number | null | undefined;
} {
  if (init.id !== undefined) assertIdSegment('NoteStore.create: id', init.id);
  for (const key of ['createdAt', 'updatedAt', 'trashedAt'] as const) {
    const value = init[key];
    if (value === undefined || (key === 'trashedAt' && value === null)) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`NoteStore.create: ${key} must be a finite number (ms), got ${value}`);
    }
  }
  return { createdAt: init.createdAt, updatedAt: init.updatedAt, trashedAt: init.trashedAt };
}
