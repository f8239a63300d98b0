/**
 * A lazily imported module whose value, once loaded, is readable synchronously.
 *
 * `React.lazy` + `Suspense` would do the same, but React throttles revealing
 * a Suspense boundary's content to 300 ms after its fallback was shown: a
 * note opened at start-up waited up to that long for its editor after both
 * the note and the editor's chunk were ready (bench `coldload`, "note at URL").
 * Rendering the component only once its module is here needs no Suspense.
 */
export interface Preload<T> {
  /** Starts the import (once) and resolves with the module. */
  load(): Promise<T>;
  /** The module once loaded, else undefined. */
  readonly value: T | undefined;
  /** Why the last import failed (undefined: it did not fail). */
  readonly error: Error | undefined;
}

/** Wraps `importer` so that it runs at most once at a time, and again after a failure. */
export function preload<T>(importer: () => Promise<T>): Preload<T> {
  let promise: Promise<T> | null = null;
  let value: T | undefined;
  let error: Error | undefined;
  return {
    load() {
      promise ??= importer().then(
        (module) => {
          value = module;
          error = undefined;
          return module;
        },
        (failure: unknown) => {
          // A later render may try again (a flaky network, an updated deployment).
          promise = null;
          error = failure instanceof Error ? failure : new Error(String(failure));
          throw error;
        },
      );
      return promise;
    },
    get value() {
      return value;
    },
    get error() {
      return error;
    },
  };
}
