/** Progress on stderr: one line, rewritten in place on a terminal, every ~10 % otherwise. */
export function progress(label: string): (done: number, total: number) => void {
  let lastTenth = -1;
  return (done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${label}: ${done}/${total} (${pct}%)${done >= total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(pct / 10);
    if (tenth !== lastTenth || done >= total) {
      lastTenth = tenth;
      process.stderr.write(`${label}: ${done}/${total} (${pct}%)\n`);
    }
  };
}

/** A status line on stderr (phase changes). */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}
