import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procCpuSeconds, procRssBytes } from '@lattice/relay/testing';
import type { System } from './messages.ts';

const RELAY_BIN = fileURLToPath(new URL('../../../apps/relay/bin/relay.mjs', import.meta.url));
const HOCUSPOCUS_MAIN = fileURLToPath(new URL('./hocuspocusServer.mjs', import.meta.url));
const FLOOR_MAIN = fileURLToPath(new URL('./floorServer.mjs', import.meta.url));

/**
 * Relay flags for this load: the default per-IP limit (1,000) is below the
 * saturation ladder's client counts, all of which come from 127.0.0.1.
 * The per-connection rate limit (500 frames/s) is far above one typist and
 * stays at its default.
 */
export const RELAY_BENCH_ARGS = [
  '--max-connections-per-ip',
  '100000',
  '--max-connections',
  '100000',
];

/**
 * Builds the relay bundle `relayBin` runs when fresh (what `pnpm build` does;
 * bin/relay.mjs falls back to compiling the sources with tsx, ~30 MiB more RSS,
 * when a source is newer), so every measurement runs compiled code. A checkout
 * without the build script runs as it is.
 */
export function buildRelay(relayBin: string): void {
  const script = join(dirname(relayBin), '../scripts/build.mjs');
  if (existsSync(script)) execFileSync(process.execPath, [script], { stdio: 'inherit' });
}

/**
 * `node <args>`, or under the command in `FANOUT_SERVER_WRAP` (e.g.
 * `heaptrack -o /tmp/ht/relay`): a native profiler around the server under
 * test. The pid, CPU and RSS are then the wrapper's, so such a run is for the
 * profile only.
 */
function spawnServer(args: string[]): ChildProcess {
  const wrap = process.env.FANOUT_SERVER_WRAP?.split(' ').filter(Boolean) ?? [];
  const [command, ...prefix] = [...wrap, process.execPath];
  return spawn(command ?? process.execPath, [...prefix, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A server process under test: its URL and its `/proc` figures. */
export class ServerProcess {
  readonly #stdout: string[] = [];
  readonly #stderr: string[] = [];
  readonly exited: Promise<void>;
  url = '';

  private constructor(
    readonly system: System,
    readonly child: ChildProcess,
    readonly dataDir: string | undefined,
  ) {
    child.stdout?.on('data', (c: Buffer) => this.#stdout.push(c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => {
      // Keep the tail only: a relay logs a line per connection at info.
      this.#stderr.push(c.toString('utf8'));
      if (this.#stderr.length > 200) this.#stderr.shift();
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts `system` and waits for its `listening on` line. `cpuProfDir`:
   * run it under `--cpu-prof` (profile written there at exit).
   */
  static async start(system: System, cpuProfDir?: string): Promise<ServerProcess> {
    const prof = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir];
    // Node options for the server under test only (e.g. promotedPreload.mjs).
    prof.push(...(process.env.FANOUT_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []));
    let server: ServerProcess;
    if (system === 'lattice') {
      const relayBin = process.env.FANOUT_RELAY_BIN ?? RELAY_BIN;
      buildRelay(relayBin);
      const dataDir = await mkdtemp(join(tmpdir(), 'lattice-fanout-'));
      const child = spawnServer([
        ...prof,
        // Another checkout's relay (before/after comparisons of a relay change).
        relayBin,
        '--auth',
        'off',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        ...RELAY_BENCH_ARGS,
      ]);
      server = new ServerProcess(system, child, dataDir);
    } else {
      const main = system === 'floor' ? FLOOR_MAIN : HOCUSPOCUS_MAIN;
      const child = spawnServer([...prof, main]);
      server = new ServerProcess(system, child, undefined);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const match = /^listening on (\S+)\n/m.exec(server.#stdout.join(''));
      if (match?.[1] !== undefined) {
        server.url = match[1];
        return server;
      }
      if (server.child.exitCode !== null || Date.now() > deadline) {
        server.child.kill('SIGKILL');
        throw new Error(`${system} did not start: ${server.#stderr.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('server process did not start');
    return pid;
  }

  cpuSeconds(): Promise<number> {
    return procCpuSeconds(this.pid);
  }

  rssBytes(): Promise<number> {
    return procRssBytes(this.pid);
  }

  /** SIGTERM (graceful: the relay flushes, `--cpu-prof` writes), SIGKILL after 10 s; removes its data dir. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.dataDir !== undefined) await rm(this.dataDir, { recursive: true, force: true });
  }
}
