import type { KeyValueStorage } from '../workspace/workspaces.ts';

/** A Map-backed stand-in for `localStorage` in node tests; `entries` exposes what was written. */
export function memoryKeyValueStorage(
  initial: Record<string, string> = {},
): KeyValueStorage & { entries: Map<string, string> } {
  const entries = new Map(Object.entries(initial));
  return {
    entries,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => {
      entries.set(key, String(value));
    },
  };
}
