/**
 * The relay's part of a one-doc partition heal, without sockets or replicas:
 * `node --import tsx bench/src/healRoom.ts [heals]`, with
 * `CORE_CPU_CHECKOUT=<other checkout>` to measure another checkout's
 * `RelayCore` (how the before/after in bench/README.md "Partition heal" was
 * taken). A and B share 10,000 edits, then type 10,000 more each apart; the
 * relay holds A's. B's diff arrives as its `SyncStep2`: the time until the
 * relay's frame to A leaves is what the heal's critical path waits for at
 * the relay, and until the room has also integrated it, its whole work.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';

type Replication = typeof import('@lattice/replication');

const checkout = resolve(
  process.env.CORE_CPU_CHECKOUT ?? fileURLToPath(new URL('../..', import.meta.url)),
);
const rep = (await import(
  pathToFileURL(join(checkout, 'packages/replication/src/index.ts')).href
)) as Replication;
const heals = Number(process.argv[2] ?? 5);

let seed = 1;
/** Park–Miller: the same edits in every checkout. */
const random = () => {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
};
function type(doc: Y.Doc, n: number): void {
  const text = doc.getText('t');
  for (let i = 0; i < n; i++) text.insert(Math.floor(random() * (text.length + 1)), 'x');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (let run = 0; run < heals; run++) {
  const core = new rep.RelayCore({ storage: new rep.MemoryStorage(), heartbeatIntervalMs: 0 });
  let armed = false;
  let forwardedAt = 0;
  const connect = (onFrame: (frame: Uint8Array) => void) => {
    const handler = core.acceptMultiplexed({ send: onFrame, close: () => {}, bufferedAmount: 0 });
    handler.receive(
      rep.encodeHello({
        protocol: rep.PROTOCOL_NAME,
        version: rep.PROTOCOL_VERSION,
        role: 'client',
      }),
    );
    return handler;
  };
  const a = connect((frame) => {
    if (armed && forwardedAt === 0 && frame[0] === rep.FrameType.Docs) {
      forwardedAt = performance.now();
    }
  });
  const b = connect(() => {});
  const common = new Y.Doc();
  type(common, 10_000);
  const docA = new Y.Doc();
  const docB = new Y.Doc();
  Y.applyUpdate(docA, Y.encodeStateAsUpdate(common));
  Y.applyUpdate(docB, Y.encodeStateAsUpdate(common));
  type(docA, 10_000);
  type(docB, 10_000);
  const docName = 'w/heal';
  const step2 = (update: Uint8Array) => rep.encodeSyncStep2(update);
  a.receive(rep.encodeDocs([{ docName, seq: 1, message: step2(Y.encodeStateAsUpdate(docA)) }]));
  b.receive(
    rep.encodeDocs([{ docName, seq: 1, message: rep.encodeSyncStep1(Y.encodeStateVector(docB)) }]),
  );
  await sleep(200);
  const diff = Y.encodeStateAsUpdate(docB, Y.encodeStateVector(common));
  armed = true;
  const t0 = performance.now();
  b.receive(rep.encodeDocs([{ docName, seq: 2, message: step2(diff) }]));
  const integratedAt = performance.now();
  process.stdout.write(
    `${checkout}: diff ${diff.length} B, frame to A after ${(forwardedAt - t0).toFixed(1)} ms, ` +
      `integrated after ${(integratedAt - t0).toFixed(1)} ms\n`,
  );
  await core.close();
}
