#!/usr/bin/env node
// `lattice`: the CLI runs from TypeScript source, compiled on load by tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
