import { type BrowserContext, expect, type Page } from '@playwright/test';

/** Opens the app served by a relay in a fresh page and waits until it runs offline-capable. */
export async function openApp(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.log(`[pageerror] ${err.stack ?? err.message}`));
  await page.goto(url);
  await page.waitForFunction(() => Boolean((window as LatticeWindow).__lattice?.store));
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  return page;
}

interface LatticeWindow extends Window {
  __lattice?: {
    workspaceId: string;
    store: {
      list(o?: { trashed?: boolean }): { id: string; title: string; trashedAt: number | null }[];
      openNote(id: string): Promise<{ body: { toString(): string }; release(): void }>;
    };
    replica: { whenSynced(): Promise<void>; status: { state: string; pendingLocal: boolean } };
  };
}

export function workspaceIdOf(page: Page): string {
  const m = /\/w\/([^/?#]+)/.exec(page.url());
  if (!m?.[1]) throw new Error(`no workspace in ${page.url()}`);
  return m[1];
}

export function syncBadge(page: Page) {
  return page.getByTestId('sync-status');
}

/** Waits until the badge says everything is synced (connected, nothing pending). */
export async function expectSynced(page: Page, timeout = 20_000): Promise<void> {
  await expect(syncBadge(page)).toHaveAttribute('data-state', 'synced', { timeout });
  await expect(syncBadge(page)).toHaveAttribute('data-pending', 'false', { timeout });
}

/** One change of the badge, stamped with the page's `Date.now()`. */
export interface BadgeSample {
  t: number;
  state: string;
  pending: string;
}

interface RecordingWindow extends Window {
  __badgeLog?: BadgeSample[];
  /** Called after each new sample. */
  __badgeWatchers?: Set<() => void>;
}

/**
 * Starts recording every change of the badge's `data-state` / `data-pending`
 * in the page (the badge element is replaced when it turns into a retry
 * button, so the whole document is watched). Timestamps come from the page's
 * clock, which is this machine's: compare them with `Date.now()` here.
 */
export async function recordBadge(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as RecordingWindow;
    if (w.__badgeLog) return;
    const log: BadgeSample[] = [];
    const watchers = new Set<() => void>();
    w.__badgeLog = log;
    w.__badgeWatchers = watchers;
    const sample = () => {
      const badge = document.querySelector('[data-testid=sync-status]');
      if (!badge) return;
      const state = badge.getAttribute('data-state') ?? '';
      const pending = badge.getAttribute('data-pending') ?? '';
      const last = log[log.length - 1];
      if (last?.state !== state || last.pending !== pending) {
        log.push({ t: Date.now(), state, pending });
        for (const watcher of watchers) watcher();
      }
    };
    sample();
    new MutationObserver(sample).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state', 'data-pending'],
    });
  });
}

export async function badgeLog(page: Page): Promise<BadgeSample[]> {
  return page.evaluate(() => [...((window as RecordingWindow).__badgeLog ?? [])]);
}

/**
 * Resolves the moment the badge, after showing a pending change at or after
 * `since` (page clock), says "saved on relay" (synced, nothing pending) —
 * never on a stale "synced" from before the edit. Needs `recordBadge`.
 */
export async function waitSavedOnRelay(page: Page, since: number, timeout = 20_000): Promise<void> {
  const outcome = await page.evaluate(
    ({ from, ms }) =>
      new Promise<string>((resolve) => {
        const w = window as RecordingWindow;
        const log = w.__badgeLog;
        const watchers = w.__badgeWatchers;
        if (!log || !watchers) {
          resolve('recordBadge(page) was not called');
          return;
        }
        const check = () => {
          const edited = log.findIndex((e) => e.t >= from && e.pending === 'true');
          const last = log[log.length - 1];
          if (
            edited >= 0 &&
            log.length - 1 > edited &&
            last?.state === 'synced' &&
            last.pending === 'false'
          ) {
            done('saved');
          }
        };
        const timer = setTimeout(
          () => done(`not saved on relay within ${ms} ms: ${JSON.stringify(log.slice(-6))}`),
          ms,
        );
        function done(result: string) {
          clearTimeout(timer);
          watchers?.delete(check);
          resolve(result);
        }
        watchers.add(check);
        check();
      }),
    { from: since, ms: timeout },
  );
  if (outcome !== 'saved') throw new Error(outcome);
}

/** Creates a note through the UI, types its title and body, returns its id. */
export async function createNote(page: Page, title: string, body: string): Promise<string> {
  const before = await noteIds(page);
  await page.getByTestId('new-note').click();
  let id = '';
  await expect
    .poll(async () => {
      const now = await noteIds(page);
      id = now.find((n) => !before.includes(n)) ?? '';
      return id;
    })
    .not.toBe('');
  await expect(page.getByTestId('note-title')).toBeVisible();
  await page.getByTestId('note-title').fill(title);
  await typeInEditor(page, body);
  return id;
}

/**
 * Adds `text` at the end of the open note as one input (as a paste or an IME
 * commit would), so a concurrent remote insert can never land inside it.
 */
export async function insertInEditor(page: Page, text: string): Promise<void> {
  const editor = page.locator('[data-testid=editor] .cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.insertText(text);
}

export async function typeInEditor(page: Page, text: string, delay = 0): Promise<void> {
  const editor = page.locator('[data-testid=editor] .cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.type(text, { delay });
}

export async function openNoteByTitle(page: Page, title: string): Promise<void> {
  await page.getByTestId('note-item').filter({ hasText: title }).first().click();
  await expect(page.getByTestId('note-title')).toHaveValue(title);
}

/** The editor's document text, without remote carets, their name labels or widget buffers. */
export async function editorText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const lines = document.querySelectorAll('[data-testid=editor] .cm-content .cm-line');
    return Array.from(lines, (line) => {
      const copy = line.cloneNode(true) as Element;
      for (const widget of copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer')) {
        widget.remove();
      }
      return (copy.textContent ?? '').replaceAll('\u2060', '');
    }).join('\n');
  });
}

export async function noteIds(page: Page, trashed = false): Promise<string[]> {
  return page.evaluate(
    (t) => (window as LatticeWindow).__lattice!.store.list({ trashed: t }).map((n) => n.id),
    trashed,
  );
}

export async function noteTitles(page: Page, trashed = false): Promise<string[]> {
  return page.evaluate(
    (t) => (window as LatticeWindow).__lattice!.store.list({ trashed: t }).map((n) => n.title),
    trashed,
  );
}

/** The body text of a note, read from the replica (opens the note doc briefly). */
export async function bodyOf(page: Page, id: string): Promise<string> {
  return page.evaluate(async (noteId) => {
    const handle = await (window as LatticeWindow).__lattice!.store.openNote(noteId);
    try {
      return handle.body.toString();
    } finally {
      handle.release();
    }
  }, id);
}

/** Counts whole-word occurrences of each token in `text`. */
export function countTokens(text: string, tokens: readonly string[]): Map<string, number> {
  const words = text.split(/[^A-Za-z0-9_-]+/);
  const counts = new Map<string, number>(tokens.map((t) => [t, 0]));
  for (const w of words) if (counts.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/**
 * Two people typed `typedA` and `typedB` at the same spot at the same time:
 * the merged text must hold every character exactly once (length) and each
 * person's keystrokes in the order they typed them (subsequence). Words may
 * interleave when one caret is carried past the other's insertions, so
 * whole-word checks would test caret mapping, not the CRDT.
 */
export function expectConcurrentTyping(
  text: string,
  base: string,
  typedA: string,
  typedB: string,
): void {
  const isSubsequence = (needle: string) => {
    let i = 0;
    for (const ch of text) if (i < needle.length && ch === needle[i]) i++;
    return i === needle.length;
  };
  expect({
    length: text.length,
    keepsBase: isSubsequence(base),
    keepsA: isSubsequence(typedA),
    keepsB: isSubsequence(typedB),
  }).toEqual({
    length: base.length + typedA.length + typedB.length,
    keepsBase: true,
    keepsA: true,
    keepsB: true,
  });
}

export function expectEachOnce(text: string, tokens: readonly string[]): void {
  const counts = countTokens(text, tokens);
  const lost = tokens.filter((t) => counts.get(t) === 0);
  const duplicated = tokens.filter((t) => (counts.get(t) ?? 0) > 1);
  expect({ lost, duplicated }).toEqual({ lost: [], duplicated: [] });
}
