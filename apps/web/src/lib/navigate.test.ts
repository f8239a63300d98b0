import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A window with a history that records its writes, and frames run by hand. */
class FakeWindow extends EventTarget {
  location = { pathname: '/w/ws/a', search: '?relay=x' };
  writes: string[] = [];
  frames: (() => void)[] = [];
  history = {
    pushState: (_: unknown, __: string, url: string) => this.#write('push', url),
    replaceState: (_: unknown, __: string, url: string) => this.#write('replace', url),
  };
  requestAnimationFrame = (callback: () => void) => {
    this.frames.push(callback);
    return this.frames.length;
  };

  #write(kind: string, url: string): void {
    this.writes.push(`${kind} ${url}`);
    this.location.pathname = url.split('?')[0] ?? url;
  }

  /** The browser renders a frame. */
  frame(): void {
    const due = this.frames;
    this.frames = [];
    for (const callback of due) callback();
  }
}

let win: FakeWindow;
let nav: typeof import('./navigate.ts');

beforeEach(async () => {
  vi.useFakeTimers();
  win = new FakeWindow();
  vi.stubGlobal('window', win);
  vi.stubGlobal('requestAnimationFrame', win.requestAnimationFrame);
  // The module registers its popstate listener on the window it loads with.
  vi.resetModules();
  nav = await import('./navigate.ts');
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('navigate', () => {
  it('moves the route at once and writes the history entry after the next frame', () => {
    const seen: string[] = [];
    win.addEventListener(nav.NAVIGATE_EVENT, () => seen.push(nav.currentPath()));
    nav.navigate('/w/ws/b');
    expect(seen).toEqual(['/w/ws/b']);
    expect(nav.currentPath()).toBe('/w/ws/b');
    // Nothing written in the click's task: the note shows first.
    expect(win.writes).toEqual([]);
    win.frame();
    expect(win.writes).toEqual([]);
    vi.advanceTimersToNextTimer();
    expect(win.writes).toEqual(['push /w/ws/b?relay=x']);
    expect(win.location.pathname).toBe('/w/ws/b');
    // The fallback timer finds nothing left to write.
    vi.runAllTimers();
    expect(win.writes).toEqual(['push /w/ws/b?relay=x']);
  });

  it('keeps every entry, in order and of its kind, when moves come faster than frames', () => {
    nav.navigate('/w/ws/b');
    nav.navigate('/w/ws/c', { replace: true });
    nav.navigate('/w/ws/d');
    expect(nav.currentPath()).toBe('/w/ws/d');
    // The earlier moves were written as the later ones came.
    expect(win.writes).toEqual(['push /w/ws/b?relay=x', 'replace /w/ws/c?relay=x']);
    win.frame();
    vi.runAllTimers();
    expect(win.writes).toEqual([
      'push /w/ws/b?relay=x',
      'replace /w/ws/c?relay=x',
      'push /w/ws/d?relay=x',
    ]);
  });

  it('does nothing when moving to the route it is already on, written or not', () => {
    const events = vi.fn();
    win.addEventListener(nav.NAVIGATE_EVENT, events);
    nav.navigate('/w/ws/a');
    expect(events).not.toHaveBeenCalled();
    nav.navigate('/w/ws/b');
    nav.navigate('/w/ws/b');
    expect(events).toHaveBeenCalledTimes(1);
    vi.runAllTimers();
    win.frame();
    vi.runAllTimers();
    expect(win.writes).toEqual(['push /w/ws/b?relay=x']);
  });

  it('drops a waiting move on back/forward, so the route follows the address bar', () => {
    nav.navigate('/w/ws/b');
    // The browser went back from the entry it knew (a) before the move was written.
    win.location.pathname = '/w/ws';
    win.dispatchEvent(new Event('popstate'));
    expect(nav.currentPath()).toBe('/w/ws');
    win.frame();
    vi.runAllTimers();
    expect(win.writes).toEqual([]);
    expect(win.location.pathname).toBe('/w/ws');
  });

  it('writes the entry without a frame too (a hidden page renders none)', () => {
    nav.navigate('/w/ws/b', { replace: true });
    vi.advanceTimersByTime(49);
    expect(win.writes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(win.writes).toEqual(['replace /w/ws/b?relay=x']);
    expect(nav.currentPath()).toBe('/w/ws/b');
  });

  it('writes a waiting move on demand', () => {
    nav.navigate('/w/ws/b');
    nav.flushNavigation();
    expect(win.writes).toEqual(['push /w/ws/b?relay=x']);
    win.frame();
    vi.runAllTimers();
    expect(win.writes).toEqual(['push /w/ws/b?relay=x']);
  });

  it('writes a move to another workspace or home at once (an open follows, no note to show first)', () => {
    nav.navigate('/w/other');
    expect(win.writes).toEqual(['push /w/other?relay=x']);
    nav.navigate('/', { replace: true });
    expect(win.writes).toEqual(['push /w/other?relay=x', 'replace /?relay=x']);
    nav.navigate('/w/ws', { replace: true });
    expect(win.writes).toEqual([
      'push /w/other?relay=x',
      'replace /?relay=x',
      'replace /w/ws?relay=x',
    ]);
    // Within the workspace again: after the frame.
    nav.navigate('/w/ws/b');
    expect(win.writes).toHaveLength(3);
    expect(nav.currentPath()).toBe('/w/ws/b');
  });
});
