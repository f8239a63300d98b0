import type { ConnectionHandler, RelayConnection } from '../ports.ts';
import {
  CloseCode,
  decodeYMessage,
  ProtocolError,
  SyncStep,
  type YMessage,
  YMessageType,
} from '../protocol.ts';
import { type Access, mayRead, mayWrite } from './access.ts';
import { connLog } from './connLog.ts';
import { docNameProblem } from './docNames.ts';
import type { RelayLog, Room, RoomMember } from './Room.ts';
import { roomContains } from './roomContains.ts';
import type { SessionContext } from './sessionContext.ts';
import { checkYMessage, UpdateRejectedError } from './updateGuard.ts';

/** Messages queued while the room loads; beyond this the peer is flooding, not syncing. */
const MAX_QUEUED_MESSAGES = 10_000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The relay side of one plain y-websocket socket (`/ws/<docName>`), behaving
 * like the reference y-websocket server: on connect it sends SyncStep1 and the
 * room's awareness states, answers SyncStep1 with SyncStep2, applies updates
 * and answers awareness queries. It never sends Lattice extras.
 */
export class YWebsocketSession implements ConnectionHandler {
  readonly docName: string;
  /** What the relay verified about the other end (token or auth off). */
  readonly access: Access;
  readonly #conn: RelayConnection;
  readonly #ctx: SessionContext;
  /** `ctx.log` with this connection's id. */
  readonly #log: RelayLog;
  #state: 'loading' | 'open' | 'closed' = 'loading';
  #room: Room | undefined;
  readonly #queue: YMessage[] = [];
  readonly #member: RoomMember;

  constructor(conn: RelayConnection, docName: string, ctx: SessionContext, access: Access) {
    this.docName = docName;
    this.access = access;
    this.#conn = conn;
    this.#ctx = ctx;
    this.#log = connLog(ctx.log, conn);
    this.#member = {
      send: (message) => this.#send(message),
      // Acks are a Lattice extra: a stock y-websocket client must never see one.
      ack: () => {},
    };
    const problem = docNameProblem(docName);
    if (problem !== undefined) {
      this.#ctx.metrics.rejected('malformed');
      this.close(CloseCode.MalformedFrame, `invalid doc name: ${problem}`);
      return;
    }
    if (!mayRead(access, docName)) {
      ctx.metrics.rejected('forbidden');
      this.close(CloseCode.Forbidden, 'this token has no access to the doc');
      return;
    }
    this.#ctx.join(docName, this.#member).then(
      (room) => this.#opened(room),
      (err: unknown) => {
        this.#log('session.join_failed', { doc: docName, error: errorMessage(err) });
        this.close(CloseCode.InternalError, 'doc could not be loaded');
      },
    );
  }

  /** `true` once the socket is closed (by either side). */
  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  receive(data: Uint8Array): void {
    if (this.#state === 'closed') return;
    let message: YMessage;
    try {
      message = decodeYMessage(data);
      // Checked before anything reads the payload (read-only test, room, queue).
      checkYMessage(message);
    } catch (err) {
      this.#reject(err);
      return;
    }
    if (this.#state === 'loading') {
      if (this.#queue.length >= MAX_QUEUED_MESSAGES) {
        this.close(CloseCode.InternalError, 'too many messages queued while the doc loads');
      } else {
        this.#queue.push(message);
      }
      return;
    }
    this.#handle(message);
  }

  closed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#queue.length = 0;
    this.#room?.leave(this.#member);
    this.#ctx.ended(this);
  }

  /** Closes the socket for input it refuses: hostile input with its own code, anything else `MalformedFrame`. */
  #reject(err: unknown): void {
    const rejected = err instanceof UpdateRejectedError;
    this.#ctx.metrics.rejected(rejected ? err.rejectReason : 'malformed');
    this.close(rejected ? err.closeCode : CloseCode.MalformedFrame, errorMessage(err));
  }

  /** Closes the socket with `code` and leaves the room. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#log('session.close', { kind: 'y-websocket', doc: this.docName, code, reason });
    try {
      this.#conn.close(code, reason);
    } catch (err) {
      this.#log('session.close_failed', { error: errorMessage(err) });
    }
    this.closed();
  }

  #opened(room: Room): void {
    if (this.#state === 'closed') {
      room.leave(this.#member);
      return;
    }
    this.#room = room;
    this.#state = 'open';
    this.#send(room.syncStep1());
    const states = room.awarenessStates();
    if (states !== undefined) this.#send(states);
    for (const message of this.#queue.splice(0)) {
      if (this.#state !== 'open') return;
      this.#handle(message);
    }
  }

  #handle(message: YMessage): void {
    const room = this.#room;
    if (room === undefined) return;
    if (
      message.type === YMessageType.Sync &&
      message.step !== SyncStep.Step1 &&
      !mayWrite(this.access, this.docName) &&
      !roomContains(room, message.payload)
    ) {
      // y-websocket has no error frame: the update is dropped (never applied,
      // stored or forwarded) and only counted and logged.
      this.#ctx.metrics.rejected('read_only');
      this.#log('session.read_only_dropped', { doc: this.docName });
      return;
    }
    let replies: Uint8Array[];
    try {
      replies = room.receive(this.#member, message);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#reject(err);
      } else {
        this.#log('session.error', { doc: this.docName, error: errorMessage(err) });
        this.close(CloseCode.InternalError, 'internal relay error');
      }
      return;
    }
    for (const reply of replies) this.#send(reply);
  }

  #send(frame: Uint8Array): void {
    if (this.#state === 'closed') return;
    try {
      this.#conn.send(frame);
    } catch (err) {
      this.#log('session.send_failed', { error: errorMessage(err) });
    }
  }
}
