import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** `import … from` and `export … from` statements, single- or multi-line; `type`-only ones excluded. */
const FROM = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
/** Side-effect imports: `import 'x';`. */
const BARE = /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/**
 * Packages `entry` loads before anything else runs: its static imports,
 * followed through this app's own files. Dynamic `import()`s start a chunk
 * of their own and are not followed.
 */
function staticPackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(FROM)].filter((m) => m[1] === undefined).map((m) => m[3] as string),
      ...[...source.matchAll(BARE)].map((m) => m[1] as string),
    ];
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.')) {
        packages.add(specifier);
        continue;
      }
      const target = resolve(dirname(file), specifier);
      if (existsSync(target)) visit(target);
    }
  };
  visit(resolve(SRC, entry));
  return packages;
}

const EDITOR_PACKAGES = /^(@codemirror\/|@lezer\/|y-codemirror)/;

describe('the main bundle', () => {
  it('loads no CodeMirror: the editor comes in its own chunk', () => {
    // `matchTitles` imported from the editor's link module once put all of
    // CodeMirror in the main chunk: a third of its size, evaluated before the
    // list could show (issue 6, bench `coldload`).
    const editor = [...staticPackages('main.tsx')].filter((p) => EDITOR_PACKAGES.test(p));
    expect(editor).toEqual([]);
  });

  it('(the walk finds CodeMirror where the editor is imported)', () => {
    const packages = staticPackages('components/MarkdownEditor.tsx');
    expect(packages.has('@codemirror/view')).toBe(true);
    expect(packages.has('y-codemirror.next')).toBe(true);
  });
});
