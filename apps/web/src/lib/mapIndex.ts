/** One step of a Y.Text change (Yjs delta format). */
export interface DeltaOp {
  retain?: number;
  insert?: unknown;
  delete?: number;
}

/**
 * Where a caret at `index` of the old text lands after a remote change, so a
 * person typing in a field does not see their caret jump to the end when
 * someone else edits the same field. Text inserted exactly at the caret goes
 * after it (the caret stays put, as in the editor).
 */
export function mapIndex(index: number, delta: readonly DeltaOp[]): number {
  let position = 0;
  let shift = 0;
  for (const op of delta) {
    if (position >= index && op.delete === undefined) break;
    if (op.retain !== undefined) {
      position += op.retain;
    } else if (op.insert !== undefined) {
      if (position < index) shift += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      if (position < index) shift -= Math.min(op.delete, index - position);
      position += op.delete;
    }
  }
  return Math.max(0, index + shift);
}
