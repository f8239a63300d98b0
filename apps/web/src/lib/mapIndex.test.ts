import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { type DeltaOp, mapIndex } from './mapIndex.ts';

describe('mapIndex', () => {
  it('moves the caret right for text inserted before it', () => {
    expect(mapIndex(5, [{ retain: 2 }, { insert: 'abc' }])).toBe(8);
  });

  it('keeps the caret for text inserted at or after it', () => {
    expect(mapIndex(5, [{ retain: 5 }, { insert: 'abc' }])).toBe(5);
    expect(mapIndex(5, [{ retain: 7 }, { insert: 'abc' }])).toBe(5);
  });

  it('moves the caret left for text deleted before it, and into a deleted range', () => {
    expect(mapIndex(5, [{ delete: 2 }])).toBe(3);
    expect(mapIndex(5, [{ retain: 3 }, { delete: 10 }])).toBe(3);
    expect(mapIndex(5, [{ retain: 6 }, { delete: 2 }])).toBe(5);
  });

  it('keeps the caret between the same surviving characters after a real Y.Text change (seeded)', () => {
    const seed = Number(process.env.MAP_INDEX_SEED ?? 20250615);
    let state = seed;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    // Every character is unique, so where each one ended up is unambiguous.
    const before = 'abcdefghijklmnopqrstuvwxyz';
    try {
      for (let round = 0; round < 300; round++) {
        const doc = new Y.Doc();
        const text = doc.getText('t');
        text.insert(0, before);
        let delta: DeltaOp[] = [];
        text.observe((event) => {
          delta = event.delta as DeltaOp[];
        });
        doc.transact(() => {
          for (let step = 0; step < 3; step++) {
            const at = Math.floor(random() * (text.length + 1));
            if (random() < 0.5)
              text.delete(at, Math.min(1 + Math.floor(random() * 4), text.length - at));
            else text.insert(at, String(step).repeat(1 + Math.floor(random() * 3)));
          }
        });
        const after = text.toString();
        for (let caret = 0; caret <= before.length; caret++) {
          const mapped = mapIndex(caret, delta);
          const left = [...before.slice(0, caret)].reverse().find((c) => after.includes(c));
          const right = [...before.slice(caret)].find((c) => after.includes(c));
          expect(mapped).toBeGreaterThanOrEqual(left === undefined ? 0 : after.indexOf(left) + 1);
          expect(mapped).toBeLessThanOrEqual(
            right === undefined ? after.length : after.indexOf(right),
          );
        }
      }
    } catch (error) {
      console.error(`mapIndex property failed; rerun with MAP_INDEX_SEED=${seed}`);
      throw error;
    }
  });
});
