import { defineConfig } from 'vitest/config';

// `npm run test:notify`: notification runs over whole queues (a burst of 20 tasks behind two webhooks, a
// hung receiver), kept out of `npm test` for time; the quick notification tests stay in `npm test`.
export default defineConfig({
  test: {
    include: ['test/notify/**/*.notify.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
