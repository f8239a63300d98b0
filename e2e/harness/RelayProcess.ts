import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const relayDir = resolve(here, '../../apps/relay');
// What `pnpm relay` runs: the bundle `pnpm build` made while it is fresh, else the
// sources through tsx's hooks in the same process (no `tsx` CLI parent, which a
// SIGKILL would hit instead of the relay, orphaning its port and LevelDB lock).
const relayBin = join(relayDir, 'bin/relay.mjs');

export interface RelayProcessOptions {
  /** Data directory; a fresh temp dir when omitted (removed by `dispose`). */
  dataDir?: string;
  /** 0 (default) picks a free port; pass the old port to restart on the same origin. */
  port?: number;
  extraArgs?: string[];
  /**
   * Access control (`--auth`). Default `'off'`, so specs about other things
   * need no tokens; access specs pass `'on'`.
   */
  auth?: 'on' | 'off';
  /** `--cluster-secret-file`: peer links authenticate with this file's secret. */
  clusterSecretFile?: string;
}

/**
 * A real relay process (`apps/relay/bin/relay.mjs`) on 127.0.0.1, as a
 * person would run it. Knows its port from the `listening on` line.
 */
export class RelayProcess {
  readonly dataDir: string;
  #ownsDataDir: boolean;
  #child: ChildProcess | null = null;
  #port = 0;
  #stderr = '';
  #extraArgs: string[];

  private constructor(dataDir: string, ownsDataDir: boolean, extraArgs: string[]) {
    this.dataDir = dataDir;
    this.#ownsDataDir = ownsDataDir;
    this.#extraArgs = extraArgs;
  }

  static async start(options: RelayProcessOptions = {}): Promise<RelayProcess> {
    const owns = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'lattice-relay-'));
    const args = ['--auth', options.auth ?? 'off'];
    if (options.clusterSecretFile !== undefined) {
      args.push('--cluster-secret-file', options.clusterSecretFile);
    }
    const relay = new RelayProcess(dataDir, owns, [...args, ...(options.extraArgs ?? [])]);
    await relay.#spawn(options.port ?? 0);
    return relay;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }
  get syncUrl(): string {
    return `ws://127.0.0.1:${this.#port}/sync`;
  }
  get running(): boolean {
    return this.#child !== null;
  }

  async #spawn(port: number): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        relayBin,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--data-dir',
        this.dataDir,
        ...this.#extraArgs,
      ],
      { cwd: relayDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    child.on('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    this.#port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        reject(new Error(`relay did not start within 30 s\n${this.#stderr}`));
      }, 30_000);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`relay exited with ${code} before listening\n${this.#stderr}`));
      });
    });
  }

  /** Stops the process: SIGTERM (graceful) or SIGKILL (crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    this.#child = null;
  }

  /** Starts again on the same port and data dir (same origin for the browser). */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn(this.#port);
  }

  /** Starts a stopped relay again on its old port. */
  async resume(): Promise<void> {
    if (this.#child) return;
    await this.#spawn(this.#port);
  }

  get stderr(): string {
    return this.#stderr;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    if (this.#ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
