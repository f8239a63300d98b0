/**
 * Cold-load data: workspaces of N notes with keystroke-level history, written
 * into a relay's LevelDB data dir through the real `NoteStore` + `Replica`
 * (over a WebSocket to a real relay process), plus the same notes in ONE
 * `Y.Doc` for the y-indexeddb comparison. Cached under the OS temp dir by
 * generator version and sizes: generating 5,000 notes takes a few minutes.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoteStore } from '@lattice/notes';
import { SpawnedRelay, wsTransportFactory } from '@lattice/relay/testing';
import { MemoryStorage, Replica } from '@lattice/replication';
import * as Y from 'yjs';
import { progress, say } from '../lib/progress.ts';

/** Bump when the generated data changes shape (invalidates the cache). */
const GENERATOR_VERSION = 1;
/** Characters each note ends with (the issue: ~1,450 typed keystroke by keystroke). */
export const NOTE_CHARS = 1450;
/** Keystrokes per editing session: a later session is a new Yjs client, as a reloaded tab is. */
const KEYS_PER_SESSION = 400;

const WORDS =
  'the of and to in is that for it as with was on be by this are from at or an have not which but all can had one were their there been has more will would when we what about so into some no than them could time only other new like then these may two its over any our use first also after way well even because most where much through back good notes draft meeting plan idea list review budget garden recipe travel'.split(
    ' ',
  );

/** xorshift32: deterministic per seed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * Types one note into `text` keystroke by keystroke (one transaction per key):
 * words, sentence breaks, backspaces (~9 %) and cursor jumps (~2 %), with a new
 * client id every `KEYS_PER_SESSION` keys. Same seed, same keystrokes.
 * Returns the number of keystrokes.
 */
export function typeNote(doc: Y.Doc, text: Y.Text, seed: number, clientBase: number): number {
  const random = seeded(seed);
  let cursor = 0;
  let length = 0;
  let pending = '';
  let keys = 0;
  let session = 0;
  doc.clientID = clientBase;
  while (length < NOTE_CHARS) {
    if (pending === '') {
      const word = WORDS[Math.floor(random() * WORDS.length)] as string;
      pending = `${word}${random() < 0.08 ? '.\n' : ' '}`;
    }
    const r = random();
    if (r < 0.02) cursor = Math.floor(random() * (length + 1));
    if (r < 0.09 && cursor > 0) {
      doc.transact(() => text.delete(cursor - 1, 1));
      cursor--;
      length--;
    } else {
      const ch = pending[0] as string;
      pending = pending.slice(1);
      doc.transact(() => text.insert(cursor, ch));
      cursor++;
      length++;
    }
    keys++;
    if (keys % KEYS_PER_SESSION === 0) {
      session++;
      // A later editing session: a fresh client id (unique per note and session).
      doc.clientID = clientBase + session;
    }
  }
  return keys;
}

function titleOf(seed: number): string {
  const random = seeded(seed ^ 0x5bd1e995);
  const words = 2 + Math.floor(random() * 4);
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)] as string);
  const title = out.join(' ');
  return title.charAt(0).toUpperCase() + title.slice(1);
}

/** A seeded id in the `newId` alphabet (base64url, 22 chars), so runs name the same workspace. */
function seededId(seed: number): string {
  const random = seeded(seed);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let id = '';
  for (let i = 0; i < 22; i++) id += alphabet[Math.floor(random() * 64)];
  return id;
}

/** What the benchmark needs to know about one generated workspace. */
export interface WorkspaceManifest {
  notes: number;
  workspaceId: string;
  /** Note ids, newest first (the list's order). */
  noteIds: string[];
  keystrokes: number;
  /** Sum of `Y.encodeStateAsUpdate` of the index doc and every note doc. */
  stateBytes: number;
  /** Size of the one-`Y.Doc` state (`one-<n>.bin`). */
  oneDocBytes: number;
}

export interface ColdLoadData {
  dataDir: string;
  /** Where `docs-<n>.bin` and `one-<n>.bin` live. */
  dir: string;
  workspaces: WorkspaceManifest[];
}

/** Length-prefixed (u32 LE) concatenation: the raw-transfer payload. */
function frame(updates: readonly Uint8Array[]): Uint8Array {
  const total = updates.reduce((s, u) => s + 4 + u.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const u of updates) {
    view.setUint32(at, u.length, true);
    out.set(u, at + 4);
    at += 4 + u.length;
  }
  return out;
}

/**
 * Relay flags of every cold-load run: the generator's Node replica pushes
 * thousands of docs over one socket and a fresh browser pulls them the same
 * way, above the default per-connection limit of 500 frames/s + 8 MiB/s,
 * which would measure the limiter instead.
 */
export const COLDLOAD_RELAY_ARGS: readonly string[] = [
  '--rate-limit',
  '100000',
  '--rate-limit-bytes',
  String(1 << 30),
];

/**
 * The cached data holding a workspace of `notes` notes (1,000 and 5,000 share
 * one cache, 100 and 500 another), generated when absent: for the engineer
 * tools, which take one size.
 */
export async function cachedWorkspace(
  notes: number,
): Promise<{ data: ColdLoadData; ws: WorkspaceManifest }> {
  const data = await coldLoadData(notes >= 1000 ? [1000, 5000] : [100, 500], COLDLOAD_RELAY_ARGS);
  const ws = data.workspaces.find((w) => w.notes === notes);
  if (ws === undefined) throw new Error(`no cached workspace of ${notes} notes`);
  return { data, ws };
}

/**
 * A relay of this checkout serving the web build `dist` over a scratch copy
 * of `data` (a run must not change the cache); `stop` ends it and removes the
 * copy. `nodeArgs`: flags for its Node process (`--cpu-prof`, …).
 */
export async function relayOverCopy(
  data: ColdLoadData,
  dist: string,
  nodeArgs: readonly string[] = [],
): Promise<{ relay: SpawnedRelay; stop: () => Promise<void> }> {
  const scratch = await mkdtemp(join(tmpdir(), 'lattice-coldload-copy-'));
  await cp(data.dataDir, join(scratch, 'data'), { recursive: true });
  const relay = await SpawnedRelay.start({
    dataDir: join(scratch, 'data'),
    args: [...COLDLOAD_RELAY_ARGS, '--web-dir', dist],
    nodeArgs: [...nodeArgs],
  });
  return {
    relay,
    stop: async () => {
      relay.kill('SIGTERM');
      await relay.exited;
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * Returns the cached data for `sizes`, generating it (into a real relay's data
 * dir) when absent. `relayArgs` are passed to the generating relay.
 */
export async function coldLoadData(
  sizes: readonly number[],
  relayArgs: readonly string[],
): Promise<ColdLoadData> {
  const dir = join(tmpdir(), `lattice-bench-coldload-v${GENERATOR_VERSION}-${sizes.join('-')}`);
  const dataDir = join(dir, 'relay-data');
  const manifestPath = join(dir, 'manifest.json');
  // Written once a relay shut down cleanly over the data: its fingerprint
  // records are current, so a relay started over a copy trusts them instead of
  // rebuilding them all while the benchmark measures (a cache made before
  // relays marked a clean shutdown gets one clean run first).
  const sealedPath = join(dir, 'clean-shutdown');
  if (existsSync(manifestPath)) {
    const workspaces = JSON.parse(await readFile(manifestPath, 'utf8')) as WorkspaceManifest[];
    if (!existsSync(sealedPath)) {
      say(`coldload: one clean relay run over the cached data (fingerprint records)`);
      const relay = await SpawnedRelay.start({ dataDir, args: [...relayArgs] });
      relay.kill('SIGTERM');
      await relay.exited;
      await writeFile(sealedPath, '');
    }
    say(`coldload: using cached workspaces in ${dir}`);
    return { dataDir, dir, workspaces };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  say(`coldload: generating workspaces of ${sizes.join(' and ')} notes into ${dir} (cached)`);
  const relay = await SpawnedRelay.start({ dataDir, args: [...relayArgs] });
  const workspaces: WorkspaceManifest[] = [];
  try {
    for (const [w, n] of sizes.entries()) {
      workspaces.push(await generateWorkspace(relay.url, dir, n, 1000 + w));
    }
  } finally {
    // Graceful: the relay flushes its group commit and closes LevelDB.
    relay.kill('SIGTERM');
    await relay.exited;
  }
  await writeFile(manifestPath, JSON.stringify(workspaces));
  await writeFile(sealedPath, '');
  return { dataDir, dir, workspaces };
}

async function generateWorkspace(
  relayUrl: string,
  dir: string,
  n: number,
  seed: number,
): Promise<WorkspaceManifest> {
  const workspaceId = seededId(seed);
  const replica = new Replica({
    storage: new MemoryStorage(),
    relays: [`${relayUrl.replace(/^http/, 'ws')}/sync`],
    transportFactory: wsTransportFactory,
    onError: (error) => say(`coldload generator replica: ${error.message}`),
  });
  // Timestamps spread over the last ~90 days, oldest note first.
  const start = Date.now() - 90 * 86_400_000;
  let clock = start;
  const store = await NoteStore.open({ workspaceId, source: replica, now: () => clock });
  const oneParts: Uint8Array[] = [];
  const noteStates: Uint8Array[] = [];
  const ids: string[] = [];
  let keystrokes = 0;
  const began = performance.now();
  const tick = progress(`coldload: typing ${n} notes`);
  try {
    for (let i = 0; i < n; i++) {
      const noteSeed = seed * 1_000_003 + i;
      clock = start + Math.floor((i / n) * 90 * 86_400_000);
      const id = await store.create({ title: titleOf(noteSeed) });
      ids.push(id);
      // The note's history, typed into its own doc; the note doc gets it as one
      // update (sending 1,700 single-key updates per note would only slow the
      // generator down: the stored state is the same structs and deletions).
      const body = new Y.Doc();
      keystrokes += typeNote(body, body.getText('body'), noteSeed, (noteSeed % 50_000) * 64);
      const state = Y.encodeStateAsUpdate(body);
      body.destroy();
      const handle = await store.openNote(id);
      Y.applyUpdate(handle.doc, state);
      handle.release();
      noteStates.push(state);
      // The same keystrokes into the one-doc layout (`notes` map → Y.Text),
      // typed in a doc of its own and merged at the end: typing straight into
      // one doc of thousands of clients costs O(clients) per keystroke.
      const part = new Y.Doc();
      const text = new Y.Text();
      part.getMap<Y.Text>('notes').set(id, text);
      typeNote(part, text, noteSeed, (noteSeed % 50_000) * 64 + 32);
      oneParts.push(Y.encodeStateAsUpdate(part));
      part.destroy();
      tick(i + 1, n);
      if (i === n - 1)
        say(`coldload: typed in ${((performance.now() - began) / 1000).toFixed(1)} s`);
      // Let the replica's socket drain now and then instead of queueing everything.
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
    }
    say(`coldload: waiting for the relay to ack all ${n + 1} docs`);
    await replica.whenAcked();
    await replica.whenSynced();
    say(`coldload: all acked after ${((performance.now() - began) / 1000).toFixed(1)} s`);
    const indexState = Y.encodeStateAsUpdate(store.indexDoc);
    const oneState = Y.mergeUpdates(oneParts);
    const docs = [indexState, ...noteStates];
    await writeFile(join(dir, `docs-${n}.bin`), frame(docs));
    await writeFile(join(dir, `one-${n}.bin`), oneState);
    const order = store.list().map((s) => s.id);
    return {
      notes: n,
      workspaceId,
      noteIds: order,
      keystrokes,
      stateBytes: docs.reduce((s, u) => s + u.length, 0),
      oneDocBytes: oneState.length,
    };
  } finally {
    store.close();
    await replica.destroy();
  }
}
