import { defineConfig } from 'vitest/config';

// `npm run test:budget`: budgets and the morning report end to end (a daemon stopped by a budget and resumed,
// kill -9 in the middle of spend, a night of 30 tasks), too slow for `npm test`'s time limit.
export default defineConfig({
  test: {
    include: ['test/budget/**/*.budget.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
