import { withSeed } from '@lattice/replication/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { noteDocName } from './ids.ts';
import { NoteStore } from './NoteStore.ts';
import { exchange, MemoryDocSource, transfer } from './testing/index.ts';

// Fixed seeds so every run is the same; override to explore, e.g. NOTES_FC_SEED=123.
const SEED = Number(process.env.NOTES_FC_SEED ?? 20_251_126);
const NUM_RUNS = Number(process.env.NOTES_FC_RUNS ?? 60);
const W = 'ws';

type Side = 0 | 1;
type Op =
  | { kind: 'create'; side: Side; title: string; withBody: boolean }
  | { kind: 'rename'; side: Side; pick: number; title: string }
  | { kind: 'edit'; side: Side; pick: number; pos: number; remove: number }
  | { kind: 'trash' | 'restore' | 'purge'; side: Side; pick: number }
  | { kind: 'sync'; direction: 'ab' | 'ba' | 'both' };
type Order = 'AB' | 'BA';

const side = fc.constantFrom<Side>(0, 1);
const pick = fc.nat(50);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      side,
      title: fc.constantFrom('', 'Plan', 'Todo list', 'Ünïcode 日本'),
      withBody: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('rename' as const),
      side,
      pick,
      title: fc.constantFrom('', 'Plan B', 'Todo', 'Renamed note'),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      side,
      pick,
      pos: fc.nat(200),
      remove: fc.nat(6),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('trash' as const, 'restore' as const),
      side,
      pick,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const), side, pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      direction: fc.constantFrom('ab' as const, 'ba' as const, 'both' as const),
    }),
  },
);

interface Replica {
  source: MemoryDocSource;
  store: NoteStore;
}

/** Two replicas with deterministic Yjs client ids and a shared counter clock. */
async function world(): Promise<[Replica, Replica]> {
  let clock = 0;
  const now = () => ++clock;
  const make = async (base: number): Promise<Replica> => {
    let next = base;
    const source = new MemoryDocSource({ clientIds: () => next++ });
    return { source, store: await NoteStore.open({ workspaceId: W, source, now }) };
  };
  return [await make(1_000_000), await make(2_000_000)];
}

function noteIds(store: NoteStore): string[] {
  return [...store.list(), ...store.list({ trashed: true })].map((n) => n.id).sort();
}

function pickNote(store: NoteStore, index: number): string | undefined {
  const ids = noteIds(store);
  return ids.length === 0 ? undefined : ids[index % ids.length];
}

async function bodyOf(source: MemoryDocSource, id: string): Promise<string> {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, await source.readStored(noteDocName(W, id)));
  return doc.getText('body').toString();
}

/** Inserts ` word ` at a word boundary near `pos`, so that no earlier word is split. */
function insertWord(body: Y.Text, pos: number, word: string): void {
  const text = body.toString();
  let at = pos % (text.length + 1);
  while (at > 0 && at < text.length && !/\s/.test(text.charAt(at - 1))) at++;
  body.insert(at, ` ${word} `);
}

/** Every replica's local changes written, then merged in the given order. */
async function finalSync([a, b]: [Replica, Replica], order: Order): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  a.store.flush();
  b.store.flush();
  if (order === 'AB') {
    transfer(a.source, b.source);
    transfer(b.source, a.source);
  } else {
    transfer(b.source, a.source);
    transfer(a.source, b.source);
  }
  await Promise.all([a.store.whenIndexed(), b.store.whenIndexed()]);
}

async function run(ops: readonly Op[], replicas: [Replica, Replica]): Promise<string[]> {
  const words: string[] = [];
  for (const [i, op] of ops.entries()) {
    if (op.kind === 'sync') {
      const [a, b] = replicas;
      a.store.flush();
      b.store.flush();
      if (op.direction === 'ab') transfer(a.source, b.source);
      else if (op.direction === 'ba') transfer(b.source, a.source);
      else exchange(a.source, b.source);
      continue;
    }
    const { store } = replicas[op.side];
    // A word unique to this op, so its presence can be checked after merging.
    const word = `w${op.side}x${i}`;
    if (op.kind === 'create') {
      words.push(word);
      await store.create({ title: op.title, body: op.withBody ? `start ${word}` : '' });
      continue;
    }
    const id = pickNote(store, op.pick);
    if (id === undefined) continue;
    if (op.kind === 'rename') store.rename(id, op.title);
    else if (op.kind === 'trash') store.trash(id);
    else if (op.kind === 'restore') store.restore(id);
    else if (op.kind === 'purge') await store.purge(id);
    else if (op.kind === 'edit') {
      words.push(word);
      await store.edit(id, (body) => {
        const at = op.pos % (body.length + 1);
        body.delete(at, Math.min(op.remove, body.length - at));
        insertWord(body, at, word);
      });
    }
  }
  return words;
}

async function expectConverged([a, b]: [Replica, Replica], words: readonly string[]) {
  expect(a.store.indexDoc.getMap('notes').toJSON()).toEqual(
    b.store.indexDoc.getMap('notes').toJSON(),
  );
  const ids = noteIds(a.store);
  expect(noteIds(b.store)).toEqual(ids);
  for (const id of ids) expect(await bodyOf(a.source, id)).toBe(await bodyOf(b.source, id));
  expect(a.store.list()).toEqual(b.store.list());
  expect(a.store.list({ trashed: true })).toEqual(b.store.list({ trashed: true }));
  for (const word of words) {
    for (const trashed of [false, true]) {
      const hits = (store: NoteStore) => store.search(word, { trashed }).map((h) => h.id);
      expect(hits(a.store)).toEqual(hits(b.store));
    }
  }
  // Purged notes are gone from storage on both sides (a note never edited has no stored doc).
  const names = new Set(ids.map((id) => noteDocName(W, id)));
  for (const { source } of [a, b]) {
    for (const name of source.storedDocNames()) if (name !== W) expect(names).toContain(name);
  }
}

describe('NoteStore on two replicas (property)', () => {
  it('random create/rename/edit/trash/restore/purge converge in both merge orders', async () => {
    await withSeed(SEED, 'NOTES_FC_SEED', () =>
      fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
          for (const order of ['AB', 'BA'] as const) {
            const replicas = await world();
            try {
              const words = await run(ops, replicas);
              await finalSync(replicas, order);
              await expectConverged(replicas, words);
              // Merging triggers no writes of its own: still converged after the stores react.
              await finalSync(replicas, order);
              await expectConverged(replicas, words);
            } finally {
              for (const { store } of replicas) store.close();
            }
          }
        }),
        { seed: SEED, numRuns: NUM_RUNS },
      ),
    );
  });

  it('a note edited on B while trashed on A stays trashed with every edit, and restores intact', async () => {
    const insertArb = fc.record({ pos: fc.nat(100), partialSync: fc.boolean() });
    await withSeed(SEED, 'NOTES_FC_SEED', () =>
      fc.assert(
        fc.asyncProperty(
          fc.array(insertArb, { minLength: 1, maxLength: 8 }),
          fc.constantFrom<Order>('AB', 'BA'),
          fc.constantFrom<Side>(0, 1),
          fc.boolean(),
          async (inserts, order, restorer, renameOnB) => {
            const replicas = await world();
            const [a, b] = replicas;
            try {
              const id = await a.store.create({ title: 'Shared', body: 'base text here' });
              exchange(a.source, b.source);
              a.store.trash(id);
              const words: string[] = [];
              for (const [i, { pos, partialSync }] of inserts.entries()) {
                const word = `bword${i}`;
                words.push(word);
                await b.store.edit(id, (body) => insertWord(body, pos, word));
                // Sometimes B's edits reach A before A's trash reaches B.
                if (partialSync) transfer(b.source, a.source);
              }
              if (renameOnB) b.store.rename(id, 'Shared and renamed');
              await finalSync(replicas, order);
              await expectConverged(replicas, words);

              const body = await bodyOf(a.source, id);
              for (const { source, store } of replicas) {
                expect(store.get(id)?.trashedAt).not.toBeNull();
                expect(store.list().map((n) => n.id)).not.toContain(id);
                expect(store.list({ trashed: true }).map((n) => n.id)).toContain(id);
                const text = await bodyOf(source, id);
                for (const word of words) expect(text).toContain(word);
                for (const word of words) {
                  expect(store.search(word, { trashed: true }).map((h) => h.id)).toEqual([id]);
                }
              }

              replicas[restorer].store.restore(id);
              await finalSync(replicas, order);
              await expectConverged(replicas, words);
              for (const { source, store } of replicas) {
                expect(store.get(id)?.trashedAt).toBeNull();
                expect(store.list().map((n) => n.id)).toContain(id);
                expect(await bodyOf(source, id)).toBe(body);
              }
            } finally {
              for (const { store } of replicas) store.close();
            }
          },
        ),
        { seed: SEED, numRuns: NUM_RUNS },
      ),
    );
  });
});
