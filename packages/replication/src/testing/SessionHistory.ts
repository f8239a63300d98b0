import type { SessionGuarantee } from '../session/coverage.ts';

interface Write {
  token: string;
  kind: 'put' | 'delete';
  /** Tokens shown to the session when it wrote. */
  seen: Set<string>;
}

/**
 * The ground truth of session-guarantee tests: what a session was shown and
 * what it wrote, as tokens (e.g. the keys of a `Y.Map`), and which guarantee
 * showing some state would break. Knows nothing of state vectors, so it can
 * judge implementations that use them. Assumes tokens are written once and
 * only the session deletes.
 */
export class SessionHistory {
  #read = new Set<string>();
  #writes: Write[] = [];
  #deletedBySession = new Set<string>();

  /** The session was shown `tokens` as the current state. */
  read(tokens: Iterable<string>): void {
    for (const token of tokens) this.#read.add(token);
  }

  /** The session put or deleted `token` while being shown `seen`. */
  wrote(token: string, kind: 'put' | 'delete', seen: Iterable<string>): void {
    this.#writes.push({ token, kind, seen: new Set(seen) });
    if (kind === 'delete') this.#deletedBySession.add(token);
  }

  /** Guarantees broken by showing a state in which exactly `visible` tokens appear. */
  violations(visible: ReadonlySet<string>): SessionGuarantee[] {
    const found = new Set<SessionGuarantee>();
    const gone = this.#deletedBySession;
    const own = new Set(this.#writes.filter((w) => w.kind === 'put').map((w) => w.token));
    const applied = (w: Write) =>
      w.kind === 'put' ? visible.has(w.token) || gone.has(w.token) : !visible.has(w.token);
    if (this.#writes.some((w) => !applied(w))) found.add('read-your-writes');
    for (const token of this.#read) {
      if (!visible.has(token) && !gone.has(token) && !own.has(token)) found.add('monotonic-reads');
    }
    this.#writes.forEach((w, i) => {
      // Only a put can be told apart from "has not arrived".
      if (w.kind !== 'put' || !visible.has(w.token)) return;
      for (const token of w.seen) {
        // A missing earlier write of the session's own is monotonic-writes, below.
        if (!visible.has(token) && !gone.has(token) && !own.has(token)) {
          found.add('writes-follow-reads');
        }
      }
      if (this.#writes.slice(0, i).some((earlier) => !applied(earlier))) {
        found.add('monotonic-writes');
      }
    });
    const order: SessionGuarantee[] = [
      'read-your-writes',
      'monotonic-reads',
      'writes-follow-reads',
      'monotonic-writes',
    ];
    return order.filter((g) => found.has(g));
  }
}
