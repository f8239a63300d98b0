import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** `apps/relay/bin/relay.mjs`: the relay as users run it. */
const RELAY_BIN = fileURLToPath(new URL('../../bin/relay.mjs', import.meta.url));

/** Preload answering SIGUSR2 with the live heap after a full collection. */
const LIVE_HEAP_PROBE = fileURLToPath(new URL('./liveHeapProbe.mjs', import.meta.url));

/** How a spawned relay ended. */
export interface RelayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of `SpawnedRelay.spawn`. */
export interface SpawnRelayOptions {
  dataDir: string;
  /** Extra command-line arguments (default `--auth off --port 0`, prepended). */
  args?: readonly string[];
  /** Options for node itself, before the script (e.g. `--cpu-prof`, which `NODE_OPTIONS` refuses). */
  nodeArgs?: readonly string[];
  /** Another checkout's `bin/relay.mjs` (A/B runs); default this one's. */
  bin?: string;
  /** Preload the live-heap probe, so `liveMemory()` works (leak checks). */
  liveHeapProbe?: boolean;
}

/** `process.memoryUsage()` of a relay right after a full garbage collection, in bytes. */
export interface LiveMemory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** Every relay process spawned by this test process and not yet exited: killed by `killAll`. */
const live = new Set<SpawnedRelay>();
/**
 * A process that dies without its teardown (an uncaught error; a tool
 * whose output pipe closed) takes its relays with it instead of leaving
 * them listening on loopback. `exit` handlers run synchronously; a signal
 * send is.
 */
let killOnExit = false;
function killLiveOnExit(): void {
  if (killOnExit) return;
  killOnExit = true;
  process.once('exit', () => {
    for (const relay of live) relay.kill('SIGKILL');
  });
}

/**
 * A real relay process (`node bin/relay.mjs --auth off --port 0 --data-dir …`)
 * for crash, shutdown and soak tests: waits for its `listening on` line,
 * keeps its output, and reads its memory and CPU from `/proc`.
 */
export class SpawnedRelay {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Resolves once the process exited. */
  readonly exited: Promise<RelayExit>;
  #stdout = '';
  #stderr = '';
  #url: string | null = null;
  readonly #liveHeapProbe: boolean;

  private constructor(options: SpawnRelayOptions) {
    this.dataDir = options.dataDir;
    this.#liveHeapProbe = options.liveHeapProbe === true;
    this.child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        ...(options.liveHeapProbe ? ['--expose-gc', '--import', LIVE_HEAP_PROBE] : []),
        options.bin ?? RELAY_BIN,
        '--auth',
        'off',
        '--port',
        '0',
        '--data-dir',
        options.dataDir,
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(this);
    killLiveOnExit();
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout += chunk.toString('utf8');
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        resolve({ code, signal });
      });
    });
  }

  /** Starts a relay without waiting for it (e.g. one expected to refuse its data dir). */
  static spawn(options: SpawnRelayOptions): SpawnedRelay {
    return new SpawnedRelay(options);
  }

  /** Starts a relay and resolves once it listens; rejects (with its stderr) if it exits first. */
  static async start(options: SpawnRelayOptions, timeoutMs = 30_000): Promise<SpawnedRelay> {
    const relay = new SpawnedRelay(options);
    await relay.listening(timeoutMs);
    return relay;
  }

  /** SIGKILLs every relay this process spawned that is still running (test teardown). */
  static async killAll(): Promise<void> {
    const running = [...live];
    for (const relay of running) relay.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
  }

  /** `http://127.0.0.1:<port>` once listening. */
  get url(): string {
    if (this.#url === null) throw new Error('SpawnedRelay: not listening yet');
    return this.#url;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('SpawnedRelay: the process did not start');
    return pid;
  }

  stdout(): string {
    return this.#stdout;
  }

  stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the URL from the `listening on` line. */
  async listening(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^listening on (http:\/\/\S+)\n/m.exec(this.#stdout);
      if (match?.[1] !== undefined) {
        this.#url = match[1];
        return match[1];
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`relay exited before listening: ${this.#stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`relay did not start: ${this.#stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Sends `signal` unless the process already exited. */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Resident set size in bytes (`VmRSS` of `/proc/<pid>/status`). */
  async rssBytes(): Promise<number> {
    const bytes = await procRssBytes(this.pid);
    if (Number.isNaN(bytes)) throw new Error('SpawnedRelay: no VmRSS in /proc status');
    return bytes;
  }

  /**
   * Collects garbage fully in the relay and reports what is left. Needs
   * `liveHeapProbe: true`. The relay pauses for the collection (tens of ms).
   */
  async liveMemory(timeoutMs = 10_000): Promise<LiveMemory> {
    // Without the probe, SIGUSR2's default action would end the relay.
    if (!this.#liveHeapProbe) throw new Error('SpawnedRelay: started without liveHeapProbe');
    const pattern = /^live-heap (\{.*\})$/gm;
    const seen = this.#stderr.match(pattern)?.length ?? 0;
    this.kill('SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.#stderr.match(pattern) ?? [];
      if (lines.length > seen) return JSON.parse(lines[seen]!.slice('live-heap '.length));
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`SpawnedRelay: exited before reporting its live heap: ${this.#stderr}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`SpawnedRelay: no live-heap line within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** User + system CPU seconds used so far (`/proc/<pid>/stat`, clock ticks of 1/100 s). */
  async cpuSeconds(): Promise<number> {
    return procCpuSeconds(this.pid);
  }
}

/** Resident set size of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`); NaN if it has none (a zombie). */
export async function procRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** User + system CPU seconds of process `pid` from `/proc/<pid>/stat`. */
export async function procCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100;
}
