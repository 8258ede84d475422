import { configDefaults, defineConfig } from 'vitest/config';

/** Settings every suite shares; `npm test` runs everything but the fault, fuzz and peer suites, which have their own commands. */
export const shared = {
  // Worker threads crash the Temporal native bridge; each test file gets its own process.
  pool: 'forks' as const,
  globalSetup: ['test/globalSetup.ts'],
  testTimeout: 60_000,
  hookTimeout: 180_000,
  // expect.poll waits on real work through Temporal: 1 s (Vitest's default) is too tight on a busy 2-core machine.
  expect: { poll: { timeout: 10_000 } },
};

export default defineConfig({
  test: {
    ...shared,
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/faults/**', 'test/fuzz/**', 'test/peers/**'],
  },
});
