import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Vitest defaults to cores - 1 workers: a single one on these 2-core
    // machines. The seeded simulation is CPU-bound and splits into files, so
    // two workers halve its wall time.
    maxWorkers: 2,
    projects: ['packages/*', 'apps/relay', 'apps/cli', 'apps/web'],
  },
});
