import type { RelayConnection } from '../ports.ts';
import type { RelayLog } from './Room.ts';

/**
 * `log` with the connection's id (the upgrade's request id) added as `conn`,
 * so a session's events can be matched to the HTTP request that opened it.
 * Unchanged when the connection has no id (in-memory transports).
 */
export function connLog(log: RelayLog, conn: RelayConnection): RelayLog {
  const id = conn.id;
  if (id === undefined) return log;
  return (event, fields) => log(event, { conn: id, ...fields });
}
