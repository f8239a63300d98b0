/**
 * Where a one-doc partition heal spends its time (engineer tool, not part of
 * `pnpm bench`): the heal of `pnpm bench heal` with a frame timeline at
 * replicas A and B (ms after the heal, direction, frame type, each doc
 * message's kind and size), the bench process's CPU in the heal window, and
 * optionally CPU profiles of the heal windows of the bench process (in-process
 * inspector) and of the relay (`--cpu-prof`):
 *
 *   node --import tsx bench/src/healTrace.ts [heals] [edits] [--profile <dir>]
 *
 * Read a profile with `node --import tsx bench/src/fanout/profileTop.ts <file>`.
 *
 * A/B: `… healTrace.ts [heals] [edits] --ab <dir>` alternates heals between
 * this tree and the checkout at `<dir>` (its relay bundle, built by
 * `node <dir>/apps/relay/scripts/build.mjs`, and its `@lattice/replication`
 * sources for both replicas), each with a relay of its own, and prints the
 * medians (how the fourth round's before/after in bench/README.md was taken).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpawnedRelay, tapTransport } from '@lattice/relay/testing';
import { decodeFrame, FrameType } from '@lattice/replication';
import { FaultProxy } from '../../e2e/harness/FaultProxy.ts';
import { buildRelay } from './fanout/servers.ts';
import { type HealHooks, healOnce, type Rig } from './partitionHeal.ts';

const RELAY_BIN = fileURLToPath(new URL('../../apps/relay/bin/relay.mjs', import.meta.url));
const args = process.argv.slice(2);
const profileAt = args.indexOf('--profile');
const profileDir = profileAt >= 0 ? args.splice(profileAt, 2)[1] : undefined;
/** `--relay-only`: profile the relay alone (starting the in-process profiler stalls the heal). */
const relayOnly = args.includes('--relay-only');
if (relayOnly) args.splice(args.indexOf('--relay-only'), 1);
const abAt = args.indexOf('--ab');
const abDir = abAt >= 0 ? args.splice(abAt, 2)[1] : undefined;
const heals = Number(args[0] ?? 3);
const edits = Number(args[1] ?? 10_000);

function describe(frame: Uint8Array): string {
  try {
    const f = decodeFrame(frame);
    if (f.type !== FrameType.Docs) {
      const name = Object.entries(FrameType).find(([, v]) => v === f.type)?.[0];
      return `${name ?? f.type} ${frame.length} B`;
    }
    const kinds = f.messages.map(({ message, seq }) => {
      const kind =
        message[0] === 0 ? (['SS1', 'SS2', 'Upd'][message[1] ?? 0] ?? '?') : `y${message[0]}`;
      return `${kind}#${seq}:${message.length}`;
    });
    return `Docs ${frame.length} B [${kinds.join(' ')}]`;
  } catch {
    return `? ${frame.length} B`;
  }
}

const RELAY_ARGS = ['--rate-limit', '100000', '--rate-limit-bytes', String(1 << 30)];

async function startRig(bin: string, dataDir: string): Promise<Rig> {
  const relay = await SpawnedRelay.start({ dataDir, args: RELAY_ARGS, bin });
  const port = Number(new URL(relay.url).port);
  return { relay, proxyA: await FaultProxy.start(port), proxyB: await FaultProxy.start(port) };
}

async function stopRig(rig: Rig): Promise<void> {
  await rig.proxyA.close();
  await rig.proxyB.close();
  rig.relay.kill('SIGTERM');
  await rig.relay.exited;
}

if (abDir !== undefined) {
  buildRelay(RELAY_BIN);
  const baseBin = join(abDir, 'apps/relay/bin/relay.mjs');
  buildRelay(baseBin);
  const hooks: HealHooks = {
    replication: (await import(
      pathToFileURL(join(abDir, 'packages/replication/src/index.ts')).href
    )) as NonNullable<HealHooks['replication']>,
  };
  const dir = await mkdtemp(join(tmpdir(), 'lattice-heal-ab-'));
  const rigs = {
    after: await startRig(RELAY_BIN, join(dir, 'after')),
    before: await startRig(baseBin, join(dir, 'before')),
  };
  const samples: Record<string, Awaited<ReturnType<typeof healOnce>>[]> = { after: [], before: [] };
  try {
    await healOnce(rigs.after, 1, Math.ceil(edits / 5), 999);
    await healOnce(rigs.before, 1, Math.ceil(edits / 5), 999, hooks);
    for (let run = 0; run < heals; run++) {
      // Alternating which goes first, so neither always follows the other's garbage.
      const order = run % 2 === 0 ? (['after', 'before'] as const) : (['before', 'after'] as const);
      for (const which of order) {
        const s = await healOnce(
          rigs[which],
          1,
          edits,
          1000 + run,
          which === 'before' ? hooks : {},
        );
        samples[which]!.push(s);
        console.log(
          `${which.padEnd(6)} converged ${s.convergeMs.toFixed(0)} ms (B done ${s.bDoneMs.toFixed(0)}, A done ${s.aDoneMs.toFixed(0)}), ` +
            `${(s.healedLinkBytes / s.minimalBytes).toFixed(3)}× minimal, relay CPU ${(s.relayCpuS * 1000).toFixed(0)} ms`,
        );
      }
    }
  } finally {
    await stopRig(rigs.after);
    await stopRig(rigs.before);
    await rm(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.floor(s.length / 2)] ?? Number.NaN;
  };
  for (const which of ['before', 'after'] as const) {
    const xs = samples[which]!;
    const c = xs.map((s) => s.convergeMs);
    console.log(
      `${which}: converged median ${median(c).toFixed(0)} ms (${Math.min(...c).toFixed(0)}–${Math.max(...c).toFixed(0)}), ` +
        `B done ${median(xs.map((s) => s.bDoneMs)).toFixed(0)}, A done ${median(xs.map((s) => s.aDoneMs)).toFixed(0)}, ` +
        `bytes ${median(xs.map((s) => s.healedLinkBytes / s.minimalBytes)).toFixed(3)}×, relay CPU ${median(xs.map((s) => s.relayCpuS * 1000)).toFixed(0)} ms (n=${xs.length})`,
    );
  }
  process.exit(0);
}

const dataDir = await mkdtemp(join(tmpdir(), 'lattice-heal-trace-'));
buildRelay(RELAY_BIN);
if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
const relay = await SpawnedRelay.start({
  dataDir,
  args: ['--rate-limit', '100000', '--rate-limit-bytes', String(1 << 30)],
  nodeArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
});
const port = Number(new URL(relay.url).port);
const rig: Rig = {
  relay,
  proxyA: await FaultProxy.start(port),
  proxyB: await FaultProxy.start(port),
};
const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
try {
  await healOnce(rig, 1, Math.ceil(edits / 5), 999);
  for (let run = 0; run < heals; run++) {
    let healedAt = Number.POSITIVE_INFINITY;
    let cpu0: NodeJS.CpuUsage | null = null;
    const log: string[] = [];
    const wrap = (side: 'a' | 'b', inner: Parameters<typeof tapTransport>[0]) =>
      tapTransport(inner, (direction, frame) => {
        const t = performance.now() - healedAt;
        if (t >= 0 && frame[0] !== FrameType.Heartbeat) {
          log.push(
            `${t.toFixed(1).padStart(7)} ms  ${side} ${direction.padEnd(4)} ${describe(frame)}`,
          );
        }
      });
    const sample = await healOnce(rig, 1, edits, 1000 + run, {
      wrap,
      onHeal: (at) => {
        healedAt = at;
        cpu0 = process.cpuUsage();
        if (profileDir !== undefined && !relayOnly) void inspector.post('Profiler.start');
      },
    });
    const cpu = process.cpuUsage(cpu0 ?? undefined);
    if (profileDir !== undefined && !relayOnly) {
      const { profile } = await inspector.post('Profiler.stop');
      await writeFile(join(profileDir, `bench-heal-${run}.cpuprofile`), JSON.stringify(profile));
    }
    console.log(
      `heal ${run + 1}: converged ${sample.convergeMs.toFixed(0)} ms, link up ${sample.reconnectMs.toFixed(0)}, ` +
        `B done ${sample.bDoneMs.toFixed(0)}, A done ${sample.aDoneMs.toFixed(0)}, ` +
        `${(sample.healedLinkBytes / sample.minimalBytes).toFixed(3)}× minimal, relay CPU ${(sample.relayCpuS * 1000).toFixed(0)} ms, ` +
        `bench CPU (heal → acked + 300 ms) ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; healedAtUs ${sample.healedAtUs}`,
    );
    for (const line of log.slice(0, 40)) console.log(line);
  }
} finally {
  inspector.disconnect();
  await rig.proxyA.close();
  await rig.proxyB.close();
  relay.kill('SIGTERM');
  await relay.exited;
  await rm(dataDir, { recursive: true, force: true });
}
