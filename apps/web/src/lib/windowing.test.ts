import { describe, expect, it } from 'vitest';
import { rowWindow, scrollToRow } from './windowing.ts';

describe('rowWindow', () => {
  it('renders only the rows in view plus overscan, whatever the list length', () => {
    const small = rowWindow(50, 80, 0, 800, 8);
    const large = rowWindow(5000, 80, 0, 800, 8);
    expect(small).toEqual({ start: 0, end: 19, before: 0, after: 31 * 80 });
    expect(large.end - large.start).toBe(19);
    const middle = rowWindow(5000, 80, 200_000, 800, 8);
    expect(middle.start).toBe(2500 - 8);
    expect(middle.end).toBe(2500 + 11 + 8);
    expect(middle.before + (middle.end - middle.start) * 80 + middle.after).toBe(5000 * 80);
  });

  it('clamps at the end and past it (a list that shrank under the scroll position)', () => {
    const w = rowWindow(100, 80, 1_000_000, 800, 8);
    expect(w.end).toBe(100);
    expect(w.after).toBe(0);
    expect(w.start).toBeGreaterThanOrEqual(0);
    expect(rowWindow(3, 80, -50, 800)).toMatchObject({ start: 0, end: 3, before: 0, after: 0 });
  });

  it('is empty for no rows or an unmeasured row height', () => {
    expect(rowWindow(0, 80, 0, 800)).toEqual({ start: 0, end: 0, before: 0, after: 0 });
    expect(rowWindow(10, 0, 0, 800)).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });
});

describe('scrollToRow', () => {
  it('scrolls just enough to show the row, and not at all when it shows', () => {
    expect(scrollToRow(5, 80, 0, 800)).toBe(0);
    expect(scrollToRow(20, 80, 0, 800)).toBe(21 * 80 - 800);
    expect(scrollToRow(2, 80, 800, 800)).toBe(160);
  });
});
