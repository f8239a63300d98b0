/** One sample of a Prometheus text exposition. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: samples, and the `# TYPE` of each metric family. */
export interface PromScrape {
  samples: PromSample[];
  types: Map<string, string>;
  /** The value of `name` with exactly these labels (`undefined`: no such sample). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: string): number {
  // Prometheus parses these as Go's ParseFloat does: case-insensitively (prom-client writes `Nan`).
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new SyntaxError(`bad sample value in: ${line}`);
  return value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (match === null) throw new SyntaxError(`bad labels in: ${line}`);
    const [, key, raw] = match;
    labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * Parses Prometheus text format 0.0.4 strictly enough for tests: every line
 * is a `# HELP`/`# TYPE` comment or a sample; anything else throws, as do
 * a sample before its family's `# TYPE` and a family typed twice.
 */
export function parsePromText(text: string): PromScrape {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
      if (type !== null) {
        if (!TYPES.has(type[2]!)) throw new SyntaxError(`unknown metric type in: ${line}`);
        if (types.has(type[1]!)) throw new SyntaxError(`metric typed twice: ${line}`);
        types.set(type[1]!, type[2]!);
      } else if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) {
        throw new SyntaxError(`bad comment line: ${line}`);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new SyntaxError(`bad sample line: ${line}`);
    const name = match[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(name) && !types.has(family)) {
      throw new SyntaxError(`sample without # TYPE: ${line}`);
    }
    samples.push({
      name,
      labels: match[2] === undefined ? {} : parseLabels(match[2], line),
      value: parseValue(match[3]!, line),
    });
  }
  return {
    samples,
    types,
    value(name, labels = {}) {
      const want = Object.entries(labels);
      const found = samples.find(
        (s) =>
          s.name === name &&
          Object.keys(s.labels).length === want.length &&
          want.every(([k, v]) => s.labels[k] === v),
      );
      return found?.value;
    },
  };
}
