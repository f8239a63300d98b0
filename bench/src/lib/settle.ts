import { readFile } from 'node:fs/promises';

/** Options of `settle`. */
export interface SettleOptions {
  /** The machine counts as quiet below this share of all its CPUs busy… */
  busyShare?: number;
  /** …over one window this long. */
  windowMs?: number;
  /** Give up waiting after this long (the measurement then runs anyway). */
  maxMs?: number;
}

/**
 * Waits until the machine's CPUs are nearly idle (`/proc/stat`, all cores),
 * so a measurement does not share them with the tail of the one before:
 * Chromium tearing down a closed context (its IndexedDB data deleted, its
 * renderer exiting) took most of the two cores for ~1 s, and a fresh
 * 1,000-note load started right after it measured 740 ms instead of 540
 * (bench/README.md, "Fresh device, twelfth round"). Resolves `quiet`, or
 * `busy` after `maxMs`, or `unmeasured` where `/proc/stat` cannot be read
 * (after a fixed pause of one window).
 */
export async function settle(
  options: SettleOptions = {},
): Promise<'quiet' | 'busy' | 'unmeasured'> {
  const busyShare = options.busyShare ?? 0.15;
  const windowMs = options.windowMs ?? 250;
  const maxMs = options.maxMs ?? 5000;
  const deadline = performance.now() + maxMs;
  let before = await cpuTimes();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if (before === null) return 'unmeasured';
    const now = await cpuTimes();
    if (now === null) return 'unmeasured';
    const total = now.total - before.total;
    if (total > 0 && (total - (now.idle - before.idle)) / total < busyShare) return 'quiet';
    if (performance.now() >= deadline) return 'busy';
    before = now;
  }
}

/** Jiffies of all CPUs since boot: in total, and idle (including waiting for I/O). */
async function cpuTimes(): Promise<{ total: number; idle: number } | null> {
  let text: string;
  try {
    text = await readFile('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const fields = (text.split('\n', 1)[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu') return null;
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  const values = fields.slice(1, 9).map(Number);
  if (values.length < 8 || values.some((v) => !Number.isFinite(v))) return null;
  const total = values.reduce((sum, v) => sum + v, 0);
  return { total, idle: (values[3] as number) + (values[4] as number) };
}
