import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.ts';

/** `npm run test:faults`: processes killed and services stopped on purpose, one file at a time. */
export default defineConfig({
  test: {
    ...shared,
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
  },
});
