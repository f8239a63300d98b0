import type { MemoryDocSource } from './MemoryDocSource.ts';

/**
 * Sends `to` everything it lacks of each doc that both replicas sync
 * (tracked or open), like one round of anti-entropy. Receiving a doc can make
 * `to` start syncing more docs (an index entry makes its note tracked), so
 * newly interesting docs are sent too. Returns the names of the docs sent.
 */
export function transfer(from: MemoryDocSource, to: MemoryDocSource): string[] {
  const sent = new Set<string>();
  for (;;) {
    const due = from
      .storedDocNames()
      .filter((name) => !sent.has(name) && from.isInterested(name) && to.isInterested(name));
    if (due.length === 0) return [...sent];
    for (const name of due) {
      sent.add(name);
      to.applyUpdate(name, from.encodeDiff(name, to.stateVector(name)));
    }
  }
}

/**
 * `transfer` both ways (`a` → `b`, then `b` → `a`): afterwards both hold the
 * same state of every doc both sync.
 */
export function exchange(a: MemoryDocSource, b: MemoryDocSource): void {
  transfer(a, b);
  transfer(b, a);
}
