/**
 * `npm run bench`: every bench/*.bench.ts, one file at a time (they time real
 * processes on a small machine; two at once would measure each other).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: [],
    benchmark: { include: ['bench/**/*.bench.ts'] },
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
    hookTimeout: 600_000,
    testTimeout: 600_000,
  },
});
