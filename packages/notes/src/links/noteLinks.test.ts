import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNoteLink, linkContext, parseNoteLinks } from './noteLinks.ts';

const A = 'AAAAAAAAAAAAAAAAAAAAAA';
const B = 'b-b_bbbbbbbbbbbbbbbbbb';

describe('note links', () => {
  it('formats a link that parses back to its target and title', () => {
    const text = `See ${formatNoteLink(A, 'Meeting notes')} today`;
    expect(text).toBe(`See [Meeting notes](lattice:${A}) today`);
    expect(parseNoteLinks(text)).toEqual([
      {
        from: 4,
        to: 4 + `[Meeting notes](lattice:${A})`.length,
        targetId: A,
        label: 'Meeting notes',
      },
    ]);
  });

  it('escapes brackets and backslashes in titles, and names untitled notes', () => {
    const title = 'a [weird] \\ title]';
    const link = formatNoteLink(A, title);
    expect(link).toBe(`[a \\[weird\\] \\\\ title\\]](lattice:${A})`);
    expect(parseNoteLinks(link)[0]?.label).toBe(title);
    expect(formatNoteLink(A, '  ')).toBe(`[Untitled](lattice:${A})`);
    expect(formatNoteLink(A, 'two\nlines')).toBe(`[two lines](lattice:${A})`);
  });

  it('refuses a target that is not a note id', () => {
    expect(() => formatNoteLink('a/b', 'x')).toThrow(/not a note id/);
    expect(() => formatNoteLink('', 'x')).toThrow(/not a note id/);
  });

  it('round-trips any title', () => {
    fc.assert(
      fc.property(fc.string(), (title) => {
        const [link] = parseNoteLinks(`x ${formatNoteLink(B, title)} y`);
        const expected = title.replace(/[\r\n]+/g, ' ').trim() || 'Untitled';
        expect(link?.label).toBe(expected);
        expect(link?.targetId).toBe(B);
      }),
    );
  });

  it('round-trips titles with backticks (regression: fast-check seed 244734672 found "` `")', () => {
    for (const title of ['` `', '`', 'a `code` b', '``x``', '\\`']) {
      const [link] = parseNoteLinks(`x ${formatNoteLink(B, title)} y`);
      expect(link?.label).toBe(title.trim());
      expect(link?.targetId).toBe(B);
    }
    // A real code span around a link still hides it.
    expect(parseNoteLinks(`\`${formatNoteLink(B, 'a `b` c')}\``)).toEqual([]);
  });

  it('finds several links on several lines, with offsets into the whole text', () => {
    const text = `# Title\n- [One](lattice:${A}) and [Two](lattice:${B})\n\n[One again](lattice:${A})`;
    const links = parseNoteLinks(text);
    expect(links.map((l) => [l.targetId, l.label])).toEqual([
      [A, 'One'],
      [B, 'Two'],
      [A, 'One again'],
    ]);
    for (const link of links) {
      expect(text.slice(link.from, link.to)).toMatch(/^\[.*\]\(lattice:[\w-]+\)$/);
    }
  });

  it('ignores ordinary links, other schemes, code and escaped brackets', () => {
    const text = [
      '[web](https://example.com) [other](lattice-x:abc)',
      `\`[in code](lattice:${A})\` and \`\`[also](lattice:${A})\`\``,
      '```',
      `[fenced](lattice:${A})`,
      '```',
      '~~~~',
      `[tilde](lattice:${A})`,
      '~~~', // too short to close a ~~~~ fence
      `[still fenced](lattice:${A})`,
      '~~~~',
      `\\[escaped](lattice:${A}) but [real](lattice:${B})`,
      `[broken](lattice:${A}`,
      `[spans\nlines](lattice:${A})`,
    ].join('\n');
    expect(parseNoteLinks(text).map((l) => l.label)).toEqual(['real']);
  });

  it('takes the link inside brackets of surrounding text', () => {
    const links = parseNoteLinks(`[see [Target](lattice:${A})]`);
    expect(links.map((l) => l.label)).toEqual(['Target']);
  });

  it('gives the linking line as plain text, links by their labels', () => {
    const text = `intro\n## Plan: ask [Bob](lattice:${A}) about [Budget](lattice:${B})!\nmore`;
    const links = parseNoteLinks(text);
    const [bob, budget] = links;
    if (bob === undefined || budget === undefined) throw new Error('links not found');
    expect(linkContext(text, bob, links)).toBe('Plan: ask Bob about Budget!');
    expect(linkContext(text, budget, links)).toBe('Plan: ask Bob about Budget!');
  });

  it('cuts a long line around the link', () => {
    const before = 'word '.repeat(60);
    const text = `${before}[Target](lattice:${A}) ${'tail '.repeat(60)}`;
    const links = parseNoteLinks(text);
    const context = linkContext(text, links[0] ?? links[0]!, links);
    expect(context).toContain('Target');
    expect(context.startsWith('…')).toBe(true);
    expect(context.endsWith('…')).toBe(true);
    expect(context.length).toBeLessThanOrEqual(122);
  });
});
