/** What the relay's liveness sweep reads of one socket (`RelayServer.#sweep`). */
export interface SocketSample {
  /** `socket.bytesRead`: every frame and pong the other end sent. */
  read: number;
  /** Bytes queued toward the socket in user space (`ws.bufferedAmount`). */
  backlog: number;
  /** Bytes handed to the kernel so far. */
  sent: number;
}

/**
 * Whether the other end showed a sign of life between two sweeps: it sent
 * something (a frame, or the pong to our ping), or our backlog to it drained.
 * The second counts only when bytes were waiting in user space at the earlier
 * sweep: the kernel's buffer was full then, so its taking more means the other
 * end acknowledged data (a slow link busy with a large sync, our ping queued
 * behind it). Bytes the kernel took while it had room prove nothing: a trickle
 * of small frames to a dead link is accepted until its buffer fills, which at
 * typing rates takes minutes.
 */
export function showedLife(before: SocketSample, now: SocketSample): boolean {
  return now.read !== before.read || (before.backlog > 0 && now.sent > before.sent);
}
