/** Test helpers for the web app's node-side unit tests. */
export { memoryKeyValueStorage } from './memoryKeyValueStorage.ts';
