import { parseCommand, USAGE } from './args.ts';
import { CliError, ExitCode } from './CliError.ts';
import { cleanPartial, type Output, runExport, runImport } from './commands.ts';

const output: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

async function main(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(argv);
  } catch (error) {
    return report(error);
  }
  if (command === 'help') {
    output.out(USAGE);
    return ExitCode.ok;
  }
  try {
    return command.command === 'export'
      ? await runExport(command, output)
      : await runImport(command, output);
  } catch (error) {
    await cleanPartial(command);
    return report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CliError) {
    output.err(`lattice: ${error.message}`);
    return error.code;
  }
  output.err(`lattice: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return ExitCode.failed;
}

// Exit explicitly: a replica's timers must not keep a finished command alive.
process.exit(await main(process.argv.slice(2)));
