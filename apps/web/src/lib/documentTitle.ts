/**
 * Sets `document.title` once per task, after the work in hand: opening another
 * note wrote the title twice in the click (the closing pane's reset, then the
 * new note's), and each write cost 0.3–20 ms in Chromium (bench `coldload`,
 * click profile). Only the last title asked for in a task is written.
 */
let wanted: string | null = null;

export function setDocumentTitle(title: string): void {
  const scheduled = wanted !== null;
  wanted = title;
  if (scheduled) return;
  setTimeout(() => {
    const title = wanted;
    wanted = null;
    if (title !== null && typeof document !== 'undefined' && document.title !== title) {
      document.title = title;
    }
  }, 0);
}
