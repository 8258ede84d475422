import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.ts';

/** `npm run test:peers`: every outbound path against peers that misbehave on purpose (see test/peers/). */
export default defineConfig({
  test: {
    ...shared,
    include: ['test/peers/**/*.test.ts'],
    testTimeout: 180_000,
  },
});
