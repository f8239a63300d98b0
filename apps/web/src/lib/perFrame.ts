/** Schedules a callback for the next frame; returns a function that cancels it. */
export type FrameScheduler = (callback: () => void) => () => void;

/** `requestAnimationFrame`, or a 16 ms timer where there is none (Node, workers). */
export const nextFrame: FrameScheduler = (callback) => {
  if (typeof requestAnimationFrame === 'function') {
    const id = requestAnimationFrame(() => callback());
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(callback, 16);
  return () => clearTimeout(id);
};

/**
 * Runs `apply` at most once per frame: at once when no frame is pending (the
 * first change of a burst shows without delay), then once at the end of the
 * frame if more changes came meanwhile. A fresh device's sync reports a change
 * per doc stored, hundreds per frame; re-rendering each one was ~10 % of the
 * page's work (bench/README.md, "Cold load", sixth round). `cancel` drops a
 * pending run (unmount).
 */
export function perFrame(
  apply: () => void,
  schedule: FrameScheduler = nextFrame,
): { (): void; cancel(): void } {
  let pending: (() => void) | null = null;
  let changed = false;
  const onFrame = () => {
    pending = null;
    if (!changed) return;
    changed = false;
    apply();
    // Keep coalescing while the burst goes on; a frame with no change ends it.
    pending = schedule(onFrame);
  };
  const run = () => {
    if (pending !== null) {
      changed = true;
      return;
    }
    apply();
    pending = schedule(onFrame);
  };
  run.cancel = () => {
    pending?.();
    pending = null;
    changed = false;
  };
  return run;
}
