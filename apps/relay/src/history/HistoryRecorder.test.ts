import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHORS_MAP, EntryKey, NOTES_MAP } from '@lattice/notes/schema';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { LevelStorage } from '../LevelStorage.ts';
import { bodyOfState } from './docState.ts';
import { HistoryRecorder } from './HistoryRecorder.ts';
import { RecordingStorage } from './RecordingStorage.ts';
import { DAY_MS } from './retention.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: ConstructorParameters<typeof HistoryRecorder>[1] = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-history-'));
  const level = await LevelStorage.open(dir);
  const recorder = new HistoryRecorder(level, options);
  cleanups.push(async () => {
    await recorder.close();
    await level.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, level, recorder, storage: new RecordingStorage(level, recorder) };
}

/** A client doc whose every transaction is appended, as a relay room would store it. */
function writer(storage: RecordingStorage, docName: string, author?: string) {
  const doc = new Y.Doc();
  const writes: Promise<void>[] = [];
  doc.on('update', (update: Uint8Array) => writes.push(storage.append(docName, [update])));
  if (author !== undefined) doc.getMap(AUTHORS_MAP).set(String(doc.clientID), author);
  return { doc, settled: () => Promise.all(writes) };
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('HistoryRecorder', () => {
  it('takes a version on schedule after a change, with its authors, and none when nothing changed', async () => {
    const { recorder, storage } = await setup({ intervalMs: 50 });
    const ada = writer(storage, 'w1/n1', 'Ada');
    ada.doc.getText('body').insert(0, 'first draft');
    await ada.settled();
    const [v1] = await until(async () => {
      const list = await recorder.store.list('w1/n1');
      return list.length > 0 ? list : undefined;
    });
    expect(v1?.authors).toEqual(['Ada']);
    expect(v1?.reason).toBe('scheduled');

    // A second writer deletes only (no clock advances) and inserts: only its name is new.
    const grace = writer(storage, 'w1/n1', 'Grace');
    Y.applyUpdate(grace.doc, Y.encodeStateAsUpdate(ada.doc));
    grace.doc.getText('body').insert(0, 'second: ');
    await grace.settled();
    const versions = await until(async () => {
      const list = await recorder.store.list('w1/n1');
      return list.length > 1 ? list : undefined;
    });
    expect(versions[1]?.authors).toEqual(['Grace']);
    const stored = await recorder.store.get('w1/n1', versions[1]?.id ?? '');
    expect(bodyOfState(stored?.state ?? new Uint8Array())).toBe('second: first draft');

    // The same content again (an update that adds nothing new): no new version.
    await storage.append('w1/n1', [Y.encodeStateAsUpdate(grace.doc)]);
    await recorder.flush();
    expect(await recorder.store.list('w1/n1')).toHaveLength(2);
  });

  it('a deletion is a change: it gets a version though no clock advanced', async () => {
    const { recorder, storage } = await setup({ intervalMs: 60_000 });
    const w = writer(storage, 'w1/n1', 'Ada');
    w.doc.getText('body').insert(0, 'keep this, drop this');
    await w.settled();
    await recorder.flush();
    w.doc.getText('body').delete(9, 11);
    await w.settled();
    await recorder.flush();
    const versions = await recorder.store.list('w1/n1');
    expect(versions).toHaveLength(2);
    expect(versions[1]?.authors).toEqual([]);
    const latest = await recorder.store.get('w1/n1', versions[1]?.id ?? '');
    expect(bodyOfState(latest?.state ?? new Uint8Array())).toBe('keep this');
  });

  it('versions are compact: V2 state of a 2,000-keystroke note', async () => {
    const { recorder, storage } = await setup({ intervalMs: 60_000 });
    const w = writer(storage, 'w1/n1', 'Ada');
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(45).slice(0, 2000);
    let logBytes = 0;
    w.doc.on('update', (u: Uint8Array) => {
      logBytes += u.byteLength;
    });
    for (const ch of text) w.doc.getText('body').insert(w.doc.getText('body').length, ch);
    await w.settled();
    await recorder.flush();
    const [version] = await recorder.store.list('w1/n1');
    const size = version?.size ?? 0;
    console.log(
      `history: 2,000-keystroke note: version ${size} bytes (text ${text.length} B, update log ${logBytes} B)`,
    );
    expect(size).toBeGreaterThan(0);
    // Keystrokes from one client merge into one item run: close to the text itself.
    expect(size).toBeLessThan(text.length + 200);
  });

  it('before a purge, versions the note and the index as they were, and remembers the purged note', async () => {
    const { recorder, storage } = await setup({ intervalMs: 60_000 });
    const note = writer(storage, 'w1/n1', 'Ada');
    note.doc.getText('body').insert(0, 'precious words');
    const index = writer(storage, 'w1');
    const entry = new Y.Map<unknown>();
    index.doc.transact(() => {
      index.doc.getMap(NOTES_MAP).set('n1', entry);
      entry.set(EntryKey.title, new Y.Text('My note'));
      entry.set(EntryKey.createdAt, 1);
    });
    await Promise.all([note.settled(), index.settled()]);
    // A title change replaces nothing in the notes map: not a purge.
    (entry.get(EntryKey.title) as Y.Text).insert(7, '!');
    await index.settled();
    expect(await recorder.store.purged('w1')).toEqual([]);

    index.doc.getMap(NOTES_MAP).delete('n1');
    await index.settled();
    const purged = await recorder.store.purged('w1');
    expect(purged).toMatchObject([{ noteId: 'n1', title: 'My note!' }]);
    const [noteVersion] = await recorder.store.list('w1/n1');
    expect(noteVersion).toMatchObject({ reason: 'purge', title: 'My note!', authors: ['Ada'] });
    const state = await recorder.store.get('w1/n1', noteVersion?.id ?? '');
    expect(bodyOfState(state?.state ?? new Uint8Array())).toBe('precious words');
    // The index version is from before the purge: the entry is still in it.
    const [indexVersion] = await recorder.store.list('w1');
    expect(indexVersion?.reason).toBe('purge');
    const indexState = await recorder.store.get('w1', indexVersion?.id ?? '');
    const before = new Y.Doc();
    Y.applyUpdateV2(before, indexState?.state ?? new Uint8Array());
    expect(before.getMap(NOTES_MAP).has('n1')).toBe(true);
  });

  it('thins versions by the retention policy, keeping the newest', async () => {
    let now = Date.UTC(2026, 0, 1);
    const { recorder, storage } = await setup({
      intervalMs: 60_000,
      now: () => now,
      retention: { keepAllMs: DAY_MS, hourlyMs: DAY_MS, dailyMs: 2 * DAY_MS, maxVersions: 3 },
    });
    const w = writer(storage, 'w1/n1');
    for (let i = 0; i < 5; i++) {
      w.doc.getText('body').insert(0, `${i}`);
      await w.settled();
      await recorder.flush();
      now += 1000;
    }
    expect((await recorder.store.list('w1/n1')).map((v) => v.at)).toHaveLength(3);
    // Ten days later every old version is out of every window; the newest stays.
    now += 10 * DAY_MS;
    await recorder.sweep();
    const left = await recorder.store.list('w1/n1');
    expect(left).toHaveLength(1);
    const state = await recorder.store.get('w1/n1', left[0]?.id ?? '');
    expect(bodyOfState(state?.state ?? new Uint8Array())).toBe('43210');
  });

  it('versions every changed doc when it closes (shutdown)', async () => {
    const { recorder, storage } = await setup({ intervalMs: 60_000 });
    const w = writer(storage, 'w1/n1');
    w.doc.getText('body').insert(0, 'unsaved');
    await w.settled();
    await recorder.close();
    const [version] = await recorder.store.list('w1/n1');
    expect(version?.reason).toBe('shutdown');
  });

  it('ignores the relays’ own docs and refuses bad options', async () => {
    const { recorder, storage } = await setup({ intervalMs: 20 });
    await storage.append('~lattice/auth', [Y.encodeStateAsUpdate(new Y.Doc())]);
    await recorder.flush();
    expect(await recorder.store.list('~lattice/auth')).toEqual([]);
    const { level } = await setup();
    expect(() => new HistoryRecorder(level, { intervalMs: 0 })).toThrow(/intervalMs/);
  });
});
