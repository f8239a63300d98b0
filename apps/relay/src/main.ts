/**
 * `lattice-relay` CLI (`pnpm relay [options]`): prints one line,
 * `listening on http://HOST:PORT`, to stdout once ready; logs go to stderr as
 * JSON lines. SIGINT/SIGTERM close gracefully (exit 0).
 */
import { CliError, parseCli, USAGE } from './cli.ts';
import { startRelay } from './index.ts';
import { createLogger, relayLog } from './logger.ts';

async function main(): Promise<number> {
  let command: ReturnType<typeof parseCli>;
  try {
    command = parseCli(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), process.env);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`lattice-relay: ${err.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  // pino JSON lines on stderr (docs/OPERATIONS.md): info by default, debug with --verbose.
  const log = relayLog(createLogger({ verbose: command.verbose }));
  if (command.auth === 'off') {
    process.stderr.write(
      'WARNING: --auth off: anyone who can reach this relay can read and write every workspace\n',
    );
  }
  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    relay = await startRelay({
      auth: command.auth,
      ...(command.clusterSecret === undefined ? {} : { clusterSecret: command.clusterSecret }),
      rotateKey: command.rotateKey,
      retireKeys: command.retireKeys,
      ...(command.maxFrameBytes === undefined ? {} : { maxFrameBytes: command.maxFrameBytes }),
      ...(command.maxConnections === undefined ? {} : { maxConnections: command.maxConnections }),
      ...(command.maxConnectionsPerIp === undefined
        ? {}
        : { maxConnectionsPerIp: command.maxConnectionsPerIp }),
      ...(command.maxDocsPerConnection === undefined
        ? {}
        : { maxDocsPerConnection: command.maxDocsPerConnection }),
      ...(command.rateLimit === undefined ? {} : { rateLimit: command.rateLimit }),
      ...(command.history === undefined ? {} : { history: command.history }),
      host: command.host,
      port: command.port,
      dataDir: command.dataDir,
      webDir: command.webDir,
      peers: command.peers,
      log,
      ...(command.pingIntervalMs === undefined ? {} : { pingIntervalMs: command.pingIntervalMs }),
      ...(command.livenessTimeoutMs === undefined
        ? {}
        : { livenessTimeoutMs: command.livenessTimeoutMs }),
      ...(command.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: command.heartbeatIntervalMs }),
      ...(command.heartbeatTimeoutMs === undefined
        ? {}
        : { heartbeatTimeoutMs: command.heartbeatTimeoutMs }),
      ...(command.publicUrl === undefined ? {} : { publicUrl: command.publicUrl }),
      ...(command.syncWindowMs === undefined ? {} : { syncWindowMs: command.syncWindowMs }),
      ...(command.antiEntropyIntervalMs === undefined
        ? {}
        : { antiEntropyIntervalMs: command.antiEntropyIntervalMs }),
    });
  } catch (err) {
    process.stderr.write(`lattice-relay: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  process.stdout.write(`listening on ${relay.url}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal means "now": skip the graceful path.
        process.stderr.write(`lattice-relay: ${signal} again, exiting without flushing\n`);
        process.exit(1);
      }
      stopping = true;
      log('relay.stopping', { signal });
      relay.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`lattice-relay: shutdown failed: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `lattice-relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
