import { defineConfig } from 'vitest/config';

/** In-process measuring scripts (bench/scripts/*.run.ts): one at a time, never part of the test suite. */
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['bench/scripts/*.run.ts'],
    testTimeout: 600_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
