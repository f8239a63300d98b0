import { afterEach, describe, expect, it, vi } from 'vitest';
import { setDocumentTitle } from './documentTitle.ts';

describe('setDocumentTitle', () => {
  const doc = { title: 'Lattice' };
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('writes only the last title asked for in a task, once', async () => {
    const writes: string[] = [];
    vi.stubGlobal('document', {
      get title() {
        return doc.title;
      },
      set title(value: string) {
        writes.push(value);
        doc.title = value;
      },
    });
    setDocumentTitle('Lattice');
    setDocumentTitle('Second — Lattice');
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 0));
    expect(writes).toEqual(['Second — Lattice']);
    // The same title again: nothing to write.
    setDocumentTitle('Second — Lattice');
    await new Promise((r) => setTimeout(r, 0));
    expect(writes).toEqual(['Second — Lattice']);
    setDocumentTitle('Lattice');
    await new Promise((r) => setTimeout(r, 0));
    expect(writes).toEqual(['Second — Lattice', 'Lattice']);
  });
});
