/**
 * Child process of `pnpm bench memory`: holds idle `/sync` connections to a
 * relay, so the load generator's own memory and CPU stay out of the bench
 * process (and out of the relay's measurements).
 *
 * Started with an IPC channel; messages from the parent:
 * - `{ op: 'open', url, count }`: opens `count` more sockets, each sends a
 *   client Hello and waits for the relay's; answers `{ op: 'opened', open,
 *   failed, errors }` once every one is through (or failed);
 * - `{ op: 'close' }`: closes them all, answers `{ op: 'closed' }`;
 * - `{ op: 'exit' }`: exits.
 * Every socket answers the relay's heartbeats (else the relay drops it after
 * 15 s) and, via `ws`, its WebSocket pings: idle, not dead.
 */

import { NodeWebSocket } from '@lattice/relay/testing';
import {
  decodeFrame,
  encodeHeartbeat,
  encodeHello,
  FrameType,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '@lattice/replication';

type Message = { op: 'open'; url: string; count: number } | { op: 'close' } | { op: 'exit' };

const sockets: WebSocket[] = [];
let nextId = 0;

function openOne(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // `ws` behind the browser's WebSocket API; the relay's server leaves per-message deflate off.
    const ws = new NodeWebSocket(url);
    ws.binaryType = 'arraybuffer';
    let helloSeen = false;
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error('no relay Hello within 20 s'));
    }, 20_000);
    ws.onopen = () => {
      ws.send(
        encodeHello({
          protocol: PROTOCOL_NAME,
          version: PROTOCOL_VERSION,
          role: 'client',
          id: `idle-${process.pid}-${nextId++}`,
        }),
      );
    };
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      let frame: ReturnType<typeof decodeFrame>;
      try {
        frame = decodeFrame(new Uint8Array(event.data));
      } catch {
        return;
      }
      if (frame.type === FrameType.Hello && !helloSeen) {
        helloSeen = true;
        clearTimeout(timer);
        resolve(ws);
      } else if (frame.type === FrameType.Heartbeat && !frame.reply) {
        ws.send(encodeHeartbeat(frame.nonce, true));
      }
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error('socket error'));
    };
    ws.onclose = (event: CloseEvent) => {
      clearTimeout(timer);
      if (!helloSeen) reject(new Error(`closed ${event.code} before Hello`));
    };
  });
}

async function open(url: string, count: number): Promise<void> {
  let failed = 0;
  const errors = new Map<string, number>();
  // 100 handshakes in flight per process (≤ 400 over 4 processes, under the
  // listen backlog of 511): a burst of thousands would overflow it and measure
  // SYN retries, not memory.
  const inFlight = 100;
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      // On a loaded machine a handshake can time out: retried (twice), since
      // what is measured is the memory of open connections, not handshake speed.
      for (let attempt = 0; ; attempt++) {
        try {
          sockets.push(await openOne(url));
          break;
        } catch (err) {
          const key = (err as Error).message.slice(0, 80);
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (attempt === 2) {
            failed += 1;
            break;
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  const open = sockets.filter((s) => s.readyState === NodeWebSocket.OPEN).length;
  process.send?.({ op: 'opened', open, failed, errors: Object.fromEntries(errors) });
}

async function closeAll(): Promise<void> {
  const all = sockets.splice(0);
  await Promise.all(
    all.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === NodeWebSocket.CLOSED) {
            resolve();
            return;
          }
          ws.addEventListener('close', () => resolve());
          ws.close();
          // A relay that does not answer the close handshake promptly is not waited for.
          setTimeout(resolve, 5000).unref();
        }),
    ),
  );
  process.send?.({ op: 'closed' });
}

process.on('message', (message: Message) => {
  if (message.op === 'open') void open(message.url, message.count);
  else if (message.op === 'close') void closeAll();
  else process.exit(0);
});
// The parent died: do not linger holding sockets.
process.on('disconnect', () => process.exit(0));
