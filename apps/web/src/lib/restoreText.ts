import { type ChangeObject, diffChars, diffLines } from 'diff';
import type * as Y from 'yjs';

/** Past this many edits (or this long) the character diff gives up and one span is replaced. */
const MAX_EDIT_LENGTH = 20_000;
const DIFF_TIMEOUT_MS = 500;

/** One edit of a restore: delete `remove` characters at `index`, then insert `insert` there. */
export interface TextEdit {
  index: number;
  remove: number;
  insert: string;
}

/**
 * The edits that turn `current` into `target`: the character diff's
 * inserts and deletes, so that text both share stays the same items (and
 * concurrent work anchored there survives). Indexes are UTF-16 units, as
 * `Y.Text` counts, each relative to the text after the previous edits.
 */
export function restoreEdits(current: string, target: string): TextEdit[] {
  if (current === target) return [];
  const changes: ChangeObject<string>[] | undefined = diffChars(current, target, {
    maxEditLength: MAX_EDIT_LENGTH,
    timeout: DIFF_TIMEOUT_MS,
  });
  if (changes === undefined) return [spanEdit(current, target)];
  const edits: TextEdit[] = [];
  let index = 0;
  for (const change of changes) {
    const last = edits.at(-1);
    const here = last !== undefined && last.index + last.insert.length === index;
    if (change.removed) {
      if (here && last.insert === '') last.remove += change.value.length;
      else edits.push({ index, remove: change.value.length, insert: '' });
    } else if (change.added) {
      if (here) last.insert += change.value;
      else edits.push({ index, remove: 0, insert: change.value });
      index += change.value.length;
    } else {
      index += change.value.length;
    }
  }
  return edits;
}

/** Common prefix and suffix kept, the middle replaced: the fallback for huge differences. */
function spanEdit(current: string, target: string): TextEdit {
  let start = 0;
  const max = Math.min(current.length, target.length);
  while (start < max && current[start] === target[start]) start++;
  let end = 0;
  while (
    end < max - start &&
    current[current.length - 1 - end] === target[target.length - 1 - end]
  ) {
    end++;
  }
  return {
    index: start,
    remove: current.length - start - end,
    insert: target.slice(start, target.length - end),
  };
}

/**
 * Makes `text` read `target` as one new edit (one transaction, `origin`):
 * only what differs is deleted or inserted, so it syncs like typing and
 * merges with concurrent edits elsewhere in the text. Returns the edit count.
 */
export function restoreText(text: Y.Text, target: string, origin?: unknown): number {
  const edits = restoreEdits(text.toString(), target);
  if (edits.length === 0) return 0;
  const apply = () => {
    for (const edit of edits) {
      if (edit.remove > 0) text.delete(edit.index, edit.remove);
      if (edit.insert !== '') text.insert(edit.index, edit.insert);
    }
  };
  if (text.doc === null) apply();
  else text.doc.transact(apply, origin);
  return edits.length;
}

/** One part of a line diff between the current text and a version. */
export interface DiffPart {
  kind: 'same' | 'now' | 'version';
  text: string;
}

/** Line diff for showing: `now` = only in the current text, `version` = only in the version. */
export function versionDiff(current: string, version: string): DiffPart[] {
  return diffLines(current, version).map((change) => ({
    kind: change.added ? 'version' : change.removed ? 'now' : 'same',
    text: change.value,
  }));
}
