import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the long crash and race runs, kept out of `npm test` (whose include is *.test.ts).
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    testTimeout: 1_200_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
