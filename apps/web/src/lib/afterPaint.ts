/**
 * Runs `callback` once, in a task after the next frame (queued from the
 * frame's callback, so it runs once the frame is handed to the compositor),
 * or after `latestMs` when no frame comes (a hidden page renders none).
 * For work a click must do but the note it opens need not wait for (bench
 * `coldload`). Returns a function that cancels it.
 */
export function afterPaint(callback: () => void, latestMs = 50): () => void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    clearTimeout(latest);
    callback();
  };
  const latest = setTimeout(run, latestMs);
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => setTimeout(run, 0));
  return () => {
    done = true;
    clearTimeout(latest);
  };
}
