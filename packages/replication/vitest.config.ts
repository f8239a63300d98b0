import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { name: 'replication', environment: 'node' } });
