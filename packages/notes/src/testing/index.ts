/**
 * Test harnesses of `@lattice/notes`: an in-memory `DocSource`, a way to
 * connect two of them, and a call-counting `DocSource` wrapper.
 */

export { type CountedMethod, CountingDocSource } from './CountingDocSource.ts';
export { MemoryDocSource, type MemoryDocSourceOptions, REMOTE_ORIGIN } from './MemoryDocSource.ts';
export { readNoteNaively } from './readNoteNaively.ts';
export { exchange, transfer } from './sync.ts';
