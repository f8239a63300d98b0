/** Argument checks shared by storage adapters, so bad input fails loudly before anything is written. */

export function checkDocName(docName: unknown): asserts docName is string {
  if (typeof docName !== 'string' || docName.length === 0) {
    throw new TypeError('doc name must be a non-empty string');
  }
}

export function checkMetaKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError('meta key must be a non-empty string');
  }
}

export function checkUpdates(updates: unknown): asserts updates is readonly Uint8Array[] {
  if (!Array.isArray(updates)) throw new TypeError('updates must be an array of Uint8Array');
  for (const u of updates) {
    if (!(u instanceof Uint8Array)) throw new TypeError('updates must be an array of Uint8Array');
  }
}

export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

export function checkCursor(cursor: unknown): asserts cursor is number {
  if (typeof cursor !== 'number' || !Number.isInteger(cursor) || cursor < 0) {
    throw new TypeError('cursor must be a non-negative integer from load()');
  }
}
