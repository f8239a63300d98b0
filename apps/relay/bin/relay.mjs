#!/usr/bin/env node
// `lattice-relay`: the relay runs from TypeScript source, compiled on load by tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
