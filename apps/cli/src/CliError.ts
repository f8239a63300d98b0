/** Exit codes of `lattice`. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure to report in one line and exit with `code` (no stack trace: it is for people). */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: number;

  constructor(message: string, code: number = ExitCode.failed) {
    super(message);
    this.code = code;
  }
}
