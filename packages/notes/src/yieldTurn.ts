interface PostTaskScheduler {
  postTask(task: () => void, options: { priority: 'background' }): Promise<void>;
}

/**
 * Resolves on a later turn of the event loop. Where the platform can rank
 * tasks (`scheduler.postTask`, Chromium), at background priority: after the
 * page's pending network, storage and rendering tasks, so work split into
 * slices fills the gaps between them instead of delaying them. Elsewhere, a
 * zero-delay timer.
 */
export function yieldTurn(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: Partial<PostTaskScheduler> }).scheduler;
  if (typeof scheduler?.postTask === 'function') {
    return scheduler.postTask(() => {}, { priority: 'background' });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
