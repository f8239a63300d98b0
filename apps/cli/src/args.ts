import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, ExitCode } from './CliError.ts';

export const USAGE = `usage:
  pnpm lattice export --relay <url> --workspace <id> [--token <t> | --token-file <f>] --out <file.zip|dir>
  pnpm lattice import --relay <url> --workspace <id> [--token <t> | --token-file <f>] <file.md|file.zip|dir>...

  --relay       the relay, http(s)://host:port or ws(s)://host:port[/sync]
  --workspace   the workspace id (the <id> of /w/<id> in the app's address)
  --token       an access token for the workspace (export: read or better; import: write or owner)
  --token-file  a file holding the token (keeps it out of the shell history)
  --out         export: a .zip file, else a directory (created; must be empty)
  --timeout     seconds to wait for the relay before giving up (default 60)
  --quiet       no progress on stderr`;

/** A parsed command line. */
export interface Command {
  command: 'export' | 'import';
  relay: string;
  workspace: string;
  token: string | null;
  out: string | null;
  inputs: string[];
  timeoutMs: number;
  quiet: boolean;
}

const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function usage(message: string): never {
  throw new CliError(`${message}\n\n${USAGE}`, ExitCode.usage);
}

/**
 * Parses `argv` (after `node script`), resolving paths against `cwd`; throws
 * `CliError` with exit code 2 and the usage for bad flags.
 */
export function parseCommand(
  argv: readonly string[],
  // `pnpm lattice` runs in the repository root; INIT_CWD is where it was typed.
  cwd = process.env.INIT_CWD ?? process.cwd(),
): Command | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  const [command, ...inputs] = positionals;
  if (command !== 'export' && command !== 'import') {
    usage(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
  }
  const relay = values.relay;
  if (relay === undefined) usage('--relay is required');
  checkRelayUrl(relay);
  const workspace = values.workspace;
  if (workspace === undefined) usage('--workspace is required');
  if (!WORKSPACE_ID.test(workspace)) usage(`--workspace must match ${WORKSPACE_ID.source}`);
  if (values.token !== undefined && values['token-file'] !== undefined) {
    usage('give --token or --token-file, not both');
  }
  let token = values.token ?? null;
  const tokenFile = values['token-file'];
  if (tokenFile !== undefined) {
    try {
      token = readFileSync(resolve(cwd, tokenFile), 'utf8').trim();
    } catch (error) {
      throw new CliError(`cannot read --token-file ${tokenFile}: ${(error as Error).message}`);
    }
    if (token === '') throw new CliError(`--token-file ${tokenFile} is empty`);
  }
  const timeout = Number(values.timeout ?? '60');
  if (!Number.isFinite(timeout) || timeout <= 0)
    usage('--timeout must be a positive number of seconds');
  if (command === 'export') {
    if (values.out === undefined) usage('export needs --out <file.zip|dir>');
    if (inputs.length > 0) usage(`export takes no files (got ${inputs.join(' ')})`);
  } else {
    if (values.out !== undefined) usage('--out is for export');
    if (inputs.length === 0) usage('import needs at least one .md file, .zip or directory');
  }
  return {
    command,
    relay,
    workspace,
    token,
    out: values.out === undefined ? null : resolve(cwd, values.out),
    inputs: inputs.map((input) => resolve(cwd, input)),
    timeoutMs: timeout * 1000,
    quiet: values.quiet === true,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      relay: { type: 'string' },
      workspace: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function checkRelayUrl(relay: string): void {
  let url: URL;
  try {
    url = new URL(relay);
  } catch {
    usage(`--relay is not a URL: ${relay}`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    usage(`--relay must be http(s):// or ws(s)://, got ${relay}`);
  }
}

/** The relay's HTTP origin and multiplexed sync endpoint (`ws(s)://host:port/sync?token=…`). */
export function relayUrls(relay: string, token: string | null): { http: string; sync: string } {
  const url = new URL(relay);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const base = url.pathname.replace(/\/+$/, '').replace(/\/sync$/, '');
  const http = `${secure ? 'https' : 'http'}://${url.host}${base}`;
  const sync = new URL(`${secure ? 'wss' : 'ws'}://${url.host}${base}/sync`);
  if (token !== null) sync.searchParams.set('token', token);
  return { http, sync: sync.toString() };
}
