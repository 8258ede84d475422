import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.ts';

/** `npm run test:fuzz`: property-based requests generated from the OpenAPI document. */
export default defineConfig({
  test: {
    ...shared,
    include: ['test/fuzz/**/*.test.ts'],
    testTimeout: 600_000,
  },
});
