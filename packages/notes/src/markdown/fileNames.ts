/** Longest file name stem, in UTF-8 bytes (file systems allow 255 for the whole name). */
const MAX_STEM_BYTES = 180;
/** Names Windows refuses whatever the extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const encoder = new TextEncoder();

/**
 * A file name stem for a note title that every common file system accepts:
 * path separators, `:*?"<>|` and control characters become `-`, runs of
 * whitespace one space, no leading dots or trailing dots and spaces, at most
 * 180 UTF-8 bytes cut between graphemes (emoji stay whole); "Untitled" when
 * nothing is left.
 */
export function fileStem(title: string): string {
  let stem = title
    .replace(/\s+/g, ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[/\\:*?"<>|\u0000-\u001f\u007f]/g, '-')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '');
  if (encoder.encode(stem).length > MAX_STEM_BYTES) stem = truncate(stem);
  if (stem === '') return 'Untitled';
  return RESERVED.test(stem) ? `${stem}_` : stem;
}

function truncate(text: string): string {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let out = '';
  let bytes = 0;
  for (const { segment } of segmenter.segment(text)) {
    bytes += encoder.encode(segment).length;
    if (bytes > MAX_STEM_BYTES) break;
    out += segment;
  }
  return out.replace(/[\s.]+$/, '');
}

/**
 * Hands out distinct `.md` file names for titles, in call order: a repeated
 * stem gets " (2)", " (3)"… Names are compared case-insensitively, as macOS
 * and Windows file systems do.
 */
export class FileNamer {
  #taken = new Set<string>();

  next(title: string): string {
    const stem = fileStem(title);
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${stem}.md` : `${stem} (${n}).md`;
      const key = name.toLowerCase();
      if (this.#taken.has(key)) continue;
      this.#taken.add(key);
      return name;
    }
  }
}
