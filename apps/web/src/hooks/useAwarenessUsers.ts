import { useEffect, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';

/** Someone else looking at the same note. */
export interface Peer {
  clientId: number;
  name: string;
  color: string;
}

/** The other people present in a note, from its awareness `user` fields. */
export function useAwarenessUsers(awareness: Awareness): Peer[] {
  const [peers, setPeers] = useState<Peer[]>([]);
  useEffect(() => {
    const read = () => {
      const next: Peer[] = [];
      for (const [clientId, state] of awareness.getStates()) {
        if (clientId === awareness.clientID) continue;
        const user = (state as { user?: { name?: unknown; color?: unknown } }).user;
        if (!user || typeof user.name !== 'string') continue;
        next.push({
          clientId,
          name: user.name,
          color: typeof user.color === 'string' ? user.color : '#888888',
        });
      }
      setPeers((previous) => (samePeers(previous, next) ? previous : next));
    };
    read();
    awareness.on('change', read);
    return () => awareness.off('change', read);
  }, [awareness]);
  return peers;
}

function samePeers(a: readonly Peer[], b: readonly Peer[]): boolean {
  return (
    a.length === b.length &&
    a.every((peer, i) => {
      const other = b[i];
      return (
        other !== undefined &&
        peer.clientId === other.clientId &&
        peer.name === other.name &&
        peer.color === other.color
      );
    })
  );
}
