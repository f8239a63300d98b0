/**
 * A relay process started from a given entry file (`apps/relay/bin/relay.mjs`
 * of any checkout, or a bundle): A/B tools compare two relay builds, which
 * `SpawnedRelay` (always this checkout's bin) cannot.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { procCpuSeconds } from '@lattice/relay/testing';

export interface RelayProcess {
  readonly url: string;
  readonly pid: number;
  cpuSeconds(): Promise<number>;
  /** SIGTERM, then resolves once the process exited. */
  stop(): Promise<void>;
}

export async function startRelayProcess(
  entry: string,
  dataDir: string,
  args: readonly string[],
  nodeArgs: readonly string[] = [],
): Promise<RelayProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, entry, '--auth', 'off', '--port', '0', '--data-dir', dataDir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /^listening on (http:\/\/\S+)\n/m.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then(() => reject(new Error(`relay ${entry} exited: ${stderr.slice(-2000)}`)));
  });
  const pid = child.pid as number;
  return {
    url,
    pid,
    cpuSeconds: () => procCpuSeconds(pid),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
