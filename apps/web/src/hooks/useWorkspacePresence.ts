import { useEffect, useMemo, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import { afterPaint } from '../lib/afterPaint.ts';
import {
  peersByNote,
  readWorkspacePeers,
  samePeers,
  type WorkspacePeer,
} from '../lib/workspacePresence.ts';
import { awarenessUser, type Identity } from '../workspace/identity.ts';

/**
 * Tells the workspace (the index doc's awareness) who this is and which note
 * is open. On `pagehide` the state is withdrawn at once, so others see this
 * person leave without waiting for the socket to close or the awareness
 * timeout; `pageshow` (back from the page cache) announces it again.
 */
export function useAnnouncePresence(
  awareness: Awareness,
  identity: Identity,
  noteId: string | null,
): void {
  useEffect(() => {
    const announce = () => awareness.setLocalState({ user: awarenessUser(identity), noteId });
    // After the frame showing the note: the state change is encoded and sent
    // at once (~0.6 ms of a click in the click profile, bench `coldload`).
    const cancel = afterPaint(announce);
    const leave = () => awareness.setLocalState(null);
    window.addEventListener('pagehide', leave);
    window.addEventListener('pageshow', announce);
    return () => {
      cancel();
      window.removeEventListener('pagehide', leave);
      window.removeEventListener('pageshow', announce);
    };
  }, [awareness, identity, noteId]);
}

/** The other people in the workspace and the note each has open. */
export function useWorkspacePeers(awareness: Awareness): WorkspacePeer[] {
  const [peers, setPeers] = useState<WorkspacePeer[]>([]);
  useEffect(() => {
    const read = () => {
      const next = readWorkspacePeers(
        awareness.getStates() as Map<number, Record<string, unknown>>,
        awareness.clientID,
      );
      setPeers((previous) => (samePeers(previous, next) ? previous : next));
    };
    read();
    awareness.on('change', read);
    return () => awareness.off('change', read);
  }, [awareness]);
  return peers;
}

/** The peers on each note, for the note list's presence dots. */
export function usePeersByNote(peers: readonly WorkspacePeer[]): Map<string, WorkspacePeer[]> {
  return useMemo(() => peersByNote(peers), [peers]);
}
