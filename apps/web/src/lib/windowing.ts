/** Rows to render beyond each edge of the viewport, so a fast scroll shows no gap. */
export const OVERSCAN = 8;

/** The slice of a list of `count` fixed-height rows to render, and the space around it. */
export interface RowWindow {
  start: number;
  /** Exclusive. */
  end: number;
  /** Height of the rows above `start` and below `end`, in px. */
  before: number;
  after: number;
}

/**
 * Which rows of a fixed-row-height list intersect the viewport (plus
 * `overscan` on each side). Bounded by the viewport, not the list: 5,000
 * notes render the same ~30 rows as 50.
 */
export function rowWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
  overscan = OVERSCAN,
): RowWindow {
  if (count <= 0 || !(rowHeight > 0)) return { start: 0, end: 0, before: 0, after: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.min(count - 1, Math.floor(top / rowHeight));
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, before: start * rowHeight, after: (count - end) * rowHeight };
}

/**
 * The scroll position that brings row `index` fully into a viewport at
 * `scrollTop`, or `scrollTop` itself when it is already in view.
 */
export function scrollToRow(
  index: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewportHeight) {
    return Math.max(0, top + rowHeight - viewportHeight);
  }
  return scrollTop;
}
