import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the long crash and race runs, kept out of `npm test` (whose include is *.test.ts, so
// test/chaos/short.test.ts, the quick variant, stays in `npm test`).
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
