/**
 * User Timing marks for the cold-load benchmark (`pnpm bench coldload`) and
 * for anyone profiling start-up in DevTools. They stay in production: a mark
 * is a few hundred nanoseconds, and each fires once per page (the note mark
 * once per opened note).
 */
export const Mark = {
  /** The app's first module runs (after the bundle was fetched and parsed). */
  appStart: 'lattice:app-start',
  /** The note list is first committed to the DOM with notes in it. */
  listShown: 'lattice:list-shown',
  /** The editor holds an opened note's text. */
  noteShown: 'lattice:note-shown',
} as const;

const once = new Set<string>();

/** `performance.mark(name, { detail })`, at most once per page for `onceOnly` marks. */
export function mark(name: string, detail?: Record<string, unknown>, onceOnly = false): void {
  if (onceOnly) {
    if (once.has(name)) return;
    once.add(name);
  }
  // Guarded: very old engines and some test environments have no User Timing Level 3.
  try {
    performance.mark(name, detail === undefined ? undefined : { detail });
  } catch {
    // Marks are diagnostics; never let them break the app.
  }
}
