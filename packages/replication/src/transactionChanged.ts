import type * as Y from 'yjs';

/**
 * Whether a finished transaction changed its doc: what Yjs checks before it
 * emits an `update` event. An `afterTransaction` listener that asks this gets
 * the same "the doc changed" signal without Yjs encoding the transaction's
 * update, which costs as much as the change is large (a whole note or index
 * when it arrives or is loaded).
 */
export function transactionChanged(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true;
  for (const [client, clock] of tr.afterState) {
    if (tr.beforeState.get(client) !== clock) return true;
  }
  return false;
}
