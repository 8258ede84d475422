import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Worker threads crash the Temporal native bridge; each test file gets its own process.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
