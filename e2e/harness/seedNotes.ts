import { NoteStore, newId } from '@lattice/notes';
import { wsTransportFactory } from '@lattice/relay/testing';
import { MemoryStorage, Replica } from '@lattice/replication';

const WORDS =
  'the of and to in is that for it as with was on be by this are from at or an have not which but all can had one were their there been has more will would when we what about so into some no than them could time only other new like then these may two its over any our use first also after way well even because most where much through back good notes draft meeting plan idea list review budget garden recipe travel'.split(
    ' ',
  );

/** xorshift32: the same notes for the same seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** What was seeded. */
export interface SeededWorkspace {
  workspaceId: string;
  notes: number;
  ms: number;
}

/**
 * Writes a workspace of `count` notes (seeded titles and ~600-character
 * Markdown bodies) through a real `NoteStore` + `Replica` in this process,
 * over a WebSocket to the relay at `relayUrl`, and resolves once the relay
 * acked every doc. Much faster than typing them in a page; the relay should
 * run with its per-connection rate limit raised (`SEED_RELAY_ARGS`).
 */
export async function seedNotes(
  relayUrl: string,
  count: number,
  seed = 1,
): Promise<SeededWorkspace> {
  const started = performance.now();
  const workspaceId = newId();
  const replica = new Replica({
    storage: new MemoryStorage(),
    relays: [`${relayUrl.replace(/^http/, 'ws')}/sync`],
    transportFactory: wsTransportFactory,
    onError: (error) => console.log(`[seedNotes] ${error.message}`),
  });
  const random = seeded(seed);
  const phrase = (k: number) =>
    Array.from({ length: k }, () => WORDS[Math.floor(random() * WORDS.length)] ?? 'note').join(' ');
  let clock = Date.now() - count * 60_000;
  const store = await NoteStore.open({ workspaceId, source: replica, now: () => clock });
  try {
    for (let i = 0; i < count; i++) {
      clock += 60_000;
      await store.create({
        title: `${phrase(2 + Math.floor(random() * 4))} ${i}`,
        body: `# ${phrase(4)}\n\n${phrase(40)}.\n\n- ${phrase(8)}\n- ${phrase(8)}\n\n${phrase(30)}.`,
      });
      // Let the socket drain now and then instead of queueing everything.
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await replica.whenAcked();
    await replica.whenSynced();
  } finally {
    store.close();
    await replica.destroy();
  }
  return { workspaceId, notes: count, ms: performance.now() - started };
}

/** Relay arguments for seeding and loading thousands of docs over one socket. */
export const SEED_RELAY_ARGS = ['--rate-limit', '100000', '--rate-limit-bytes', String(1 << 30)];
