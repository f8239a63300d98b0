/**
 * Relay-core CPU per edit under the fan-out shape, without sockets or load
 * generators: `node --import tsx bench/src/fanout/coreCpu.ts [rounds]`, with
 * `CORE_CPU_CHECKOUT=<other checkout>` to measure another checkout's
 * `RelayCore` and `LevelStorage` (before/after of a library change).
 *
 * 500 in-memory connections (5 per doc, 100 docs) on one `RelayCore` over a
 * real `LevelStorage`. Each round every client sends one pre-built edit (all
 * in one turn, so each room commits its 5 together), then the round waits for
 * every `Ack`: the work per round is fixed whatever else the machine runs, so
 * process CPU time (`process.cpuUsage`) per edit compares across runs on a
 * busy machine, where the wall-clock fan-out benchmark does not (a starved
 * relay batches more and spends less per edit). The clients only count
 * frames, and edits are encoded before the clock starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Y from 'yjs';

type Replication = typeof import('@lattice/replication');
type RelayApp = typeof import('../../../apps/relay/src/LevelStorage.ts');

const checkout = resolve(
  process.env.CORE_CPU_CHECKOUT ?? fileURLToPath(new URL('../../..', import.meta.url)),
);
const rep = (await import(
  pathToFileURL(join(checkout, 'packages/replication/src/index.ts')).href
)) as Replication;
const { LevelStorage } = (await import(
  pathToFileURL(join(checkout, 'apps/relay/src/LevelStorage.ts')).href
)) as RelayApp;

const DOCS = 100;
const PER_DOC = 5;
const rounds = Number(process.argv[2] ?? 200);
const warmup = Math.ceil(rounds / 5);

const dataDir = await mkdtemp(join(tmpdir(), 'lattice-core-cpu-'));
const storage = await LevelStorage.open(dataDir);
const core = new rep.RelayCore({ storage, heartbeatIntervalMs: 0 });
let acks = 0;

interface Client {
  doc: string;
  handler: ReturnType<typeof core.acceptMultiplexed>;
  seq: number;
  edits: Uint8Array[];
}

const clients: Client[] = [];
for (let d = 0; d < DOCS; d++) {
  for (let m = 0; m < PER_DOC; m++) {
    const handler = core.acceptMultiplexed({
      send: (frame) => {
        if (frame[0] === rep.FrameType.Ack) acks++;
      },
      close: () => {},
      bufferedAmount: 0,
    });
    handler.receive(
      rep.encodeHello({
        protocol: rep.PROTOCOL_NAME,
        version: rep.PROTOCOL_VERSION,
        role: 'client',
      }),
    );
    // What the fan-out load generators type: a character and a timestamp under a key of its own.
    const author = new Y.Doc();
    const edits: Uint8Array[] = [];
    author.on('update', (u: Uint8Array) => edits.push(rep.encodeSyncUpdate(u)));
    for (let i = 0; i < rounds + warmup; i++) {
      author.transact(() => {
        // At the end, as the load generators type (there the doc is shared; here each author's own chain).
        author.getText('t').insert(i, 'x');
        author.getMap('sent').set(`c${clients.length}:${i}`, i);
      });
    }
    clients.push({ doc: `ws${d}/note`, handler, seq: 0, edits });
  }
}

async function allAcked(expected: number): Promise<void> {
  while (acks < expected) await new Promise((r) => setTimeout(r, 1));
}

function send(c: Client, message: Uint8Array): void {
  c.seq++;
  c.handler.receive(rep.encodeDocs([{ docName: c.doc, seq: c.seq, message }]));
}

for (const c of clients) send(c, rep.encodeSyncStep1(new Uint8Array([0])));
await allAcked(clients.length);

let expected = acks;
let cpu0 = process.cpuUsage();
for (let r = 0; r < rounds + warmup; r++) {
  if (r === warmup) cpu0 = process.cpuUsage();
  for (const c of clients) send(c, c.edits[r]!);
  expected += clients.length;
  await allAcked(expected);
}
const cpu = process.cpuUsage(cpu0);
const edits = rounds * clients.length;
const ms = (cpu.user + cpu.system) / 1000;
process.stdout.write(
  `${checkout}: ${edits} edits, ${ms.toFixed(0)} ms CPU, ${((ms / edits) * 1000).toFixed(1)} µs per edit ` +
    `(user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms)\n`,
);
await core.close();
await storage.close();
await rm(dataDir, { recursive: true, force: true });
