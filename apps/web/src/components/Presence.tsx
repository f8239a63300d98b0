import type { Awareness } from 'y-protocols/awareness';
import { useAwarenessUsers } from '../hooks/useAwarenessUsers.ts';

const SHOWN = 4;

/** Who else has this note open, as coloured initials. */
export function Presence({ awareness }: { awareness: Awareness }) {
  const peers = useAwarenessUsers(awareness);
  if (peers.length === 0) return null;
  const names = peers.map((peer) => peer.name).join(', ');
  return (
    <ul className="presence" aria-label={`Also here: ${names}`} title={`Also here: ${names}`}>
      {peers.slice(0, SHOWN).map((peer) => (
        <li key={peer.clientId} className="avatar" style={{ backgroundColor: peer.color }}>
          {initials(peer.name)}
        </li>
      ))}
      {peers.length > SHOWN ? <li className="avatar more">+{peers.length - SHOWN}</li> : null}
    </ul>
  );
}

function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [name.trim()];
  return letters
    .map((word) => [...(word ?? '')][0] ?? '')
    .join('')
    .toUpperCase();
}
