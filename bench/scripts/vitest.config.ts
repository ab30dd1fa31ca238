import { defineConfig } from 'vitest/config';

/** In-process measuring scripts (bench/scripts/*.run.ts): one at a time, never part of the test suite. */
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['bench/scripts/*.run.ts'],
    testTimeout: 600_000,
    pool: 'forks',
    // `node --expose-gc --optimize-for-size node_modules/.bin/vitest …` reaches the script's process.
    execArgv: process.execArgv,
    reporters: ['default'],
  },
});
