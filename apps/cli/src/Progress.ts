/** Progress lines on stderr, at most one a second (none with `--quiet`). */
export class Progress {
  readonly #quiet: boolean;
  readonly #write: (line: string) => void;
  #lastAt = 0;

  constructor(
    quiet: boolean,
    write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {
    this.#quiet = quiet;
    this.#write = write;
  }

  /** A line that may be dropped when the last one was less than a second ago. */
  note(line: string): void {
    const now = Date.now();
    if (this.#quiet || now - this.#lastAt < 1000) return;
    this.#lastAt = now;
    this.#write(line);
  }

  /** `done/total` progress of a step, always shown at the end of it. */
  count(what: string, done: number, total: number): void {
    if (done === total && !this.#quiet) {
      this.#lastAt = Date.now();
      this.#write(`${what}: ${done}/${total}`);
      return;
    }
    this.note(`${what}: ${done}/${total}`);
  }
}
