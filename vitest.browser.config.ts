import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the dashboard in real headless Chromium (Debian's chromium via playwright-core).
// Kept out of `npm test` (whose include is *.test.ts): each test starts a browser.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
