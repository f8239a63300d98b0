/**
 * The transport floor of the fan-out benchmark (a reference, not a
 * competitor): a minimal Node `ws` server that does only what any relay must
 * do per edit on the wire — receive the frame, write it to the other members
 * of its doc, and (Lattice protocol) write an `Ack` frame to the sender. No
 * CRDT, no storage, no auth, no limits beyond the relay's `ws` options.
 *
 * It speaks the Lattice multiplexed protocol well enough for the benchmark's
 * real `LatticeClient`s: `Docs` frames route by doc name; a `SyncStep1` is
 * answered with a `SyncStep2` holding the empty update (every client joins
 * before anyone types, so nothing is missed); every numbered message is acked
 * at once. Same process model as the relay (one plain-node process), same
 * `ws` options (noServer behind an HTTP server, perMessageDeflate off — ws's
 * server default — maxPayload 16 MiB, maxFragments 1024) and the relay's
 * per-turn write batching (the socket corked until `setImmediate`), so the
 * floor is not handicapped by a cost the relay has already removed.
 *
 * Plain JavaScript (run by plain node, like the relay's bundle); the frame
 * layout is hand-decoded here to stay free of the TypeScript sources.
 * Prints `listening on http://…`.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const FRAME_DOCS = 1;
const FRAME_ACK = 2;
const FRAME_HEARTBEAT = 5;
/** y-websocket message: Sync (0), SyncStep2 (1), the empty Yjs update (0 structs, 0 deletes). */
const STEP2_EMPTY = Uint8Array.of(0, 1, 2, 0, 0);

/** Reads a lib0 varuint at `pos`; returns [value, next position]. */
function readUint(data, pos) {
  let n = 0;
  let mult = 1;
  for (;;) {
    const b = data[pos++];
    if (b === undefined) throw new Error('truncated varint');
    n += (b & 0x7f) * mult;
    if (b < 0x80) return [n, pos];
    mult *= 128;
  }
}

function uintSize(n) {
  let size = 1;
  for (let v = n; v > 0x7f; v = Math.floor(v / 128)) size++;
  return size;
}

function putUint(out, pos, n) {
  let v = n;
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

function putBytes(out, pos, bytes) {
  const at = putUint(out, pos, bytes.length);
  out.set(bytes, at);
  return at + bytes.length;
}

/** An unnumbered one-message `Docs` frame, as the relay forwards an update. */
function docsFrame(name, message) {
  const frame = new Uint8Array(
    2 + uintSize(name.length) + name.length + 1 + uintSize(message.length) + message.length,
  );
  let pos = putUint(frame, 0, FRAME_DOCS);
  pos = putUint(frame, pos, 1);
  pos = putBytes(frame, pos, name);
  pos = putUint(frame, pos, 0);
  putBytes(frame, pos, message);
  return frame;
}

/** `Ack` for `seq` with an empty state vector (the floor holds no doc). */
function ackFrame(name, seq) {
  const frame = new Uint8Array(1 + uintSize(name.length) + name.length + uintSize(seq) + 1);
  let pos = putUint(frame, 0, FRAME_ACK);
  pos = putBytes(frame, pos, name);
  pos = putUint(frame, pos, seq);
  putUint(frame, pos, 0);
  return frame;
}

/** Doc name (its bytes as a latin1 key: cheap and unique) → member sockets. */
const docs = new Map();

const http = createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({
  noServer: true,
  maxPayload: 16 * 1024 * 1024,
  maxFragments: 1024,
});

http.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => attach(ws, socket));
});

function attach(ws, socket) {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const send = (frame) => {
    if (ws.readyState !== ws.OPEN) return;
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    ws.send(frame);
  };
  ws.sendFrame = send;
  const joined = new Set();
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const bytes = data instanceof Buffer ? data : Buffer.concat(data);
    let [type, pos] = readUint(bytes, 0);
    if (type === FRAME_HEARTBEAT) {
      // Answer a probe: heartbeat, nonce, reply = 1 (the nonce bytes as sent).
      if (bytes[bytes.length - 1] === 0) {
        const reply = Uint8Array.from(bytes);
        reply[reply.length - 1] = 1;
        send(reply);
      }
      return;
    }
    if (type !== FRAME_DOCS) return; // Hello and anything else: nothing to route.
    let count;
    [count, pos] = readUint(bytes, pos);
    for (let i = 0; i < count; i++) {
      let len;
      [len, pos] = readUint(bytes, pos);
      const name = bytes.subarray(pos, pos + len);
      pos += len;
      let seq;
      [seq, pos] = readUint(bytes, pos);
      [len, pos] = readUint(bytes, pos);
      const message = bytes.subarray(pos, pos + len);
      pos += len;
      const key = name.toString('latin1');
      let members = docs.get(key);
      if (members === undefined) {
        members = new Set();
        docs.set(key, members);
      }
      if (!joined.has(key)) {
        joined.add(key);
        members.add(ws);
      }
      // message[0] = Sync (0), message[1] = step: 0 asks for state, 1 and 2 carry an update.
      if (message[0] === 0 && message[1] === 0) {
        send(docsFrame(name, STEP2_EMPTY));
      } else if (members.size > 1) {
        const frame = docsFrame(name, message);
        for (const member of members) if (member !== ws) member.sendFrame(frame);
      }
      if (seq > 0) send(ackFrame(name, seq));
    }
  });
  ws.on('close', () => {
    for (const key of joined) {
      const members = docs.get(key);
      members?.delete(ws);
      if (members?.size === 0) docs.delete(key);
    }
  });
  ws.on('error', () => {});
}

http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${http.address().port}\n`);
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  http.close(() => process.exit(0));
});
