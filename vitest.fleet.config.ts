import { defineConfig } from 'vitest/config';

// `npm run test:fleet`: several machines (clones with daemons of their own) against one remote served by a real
// git daemon on 127.0.0.1. Minutes, not seconds: kept out of `npm test`.
export default defineConfig({
  test: {
    include: ['test/fleet/**/*.fleet.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
