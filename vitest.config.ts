import { configDefaults, defineConfig } from 'vitest/config';

// `npm test`: test/unit (pure or one module), test/e2e (the CLI or the daemon end to end), test/agents (agent CLIs),
// test/hostile (hostile executors) and test/chaos/short.test.ts; the long test/chaos/*.chaos.ts runs are not *.test.ts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The sandbox's own suites run in `npm run test:sandbox` (vitest.sandbox.config.ts).
    exclude: [...configDefaults.exclude, 'test/hostile/sandbox*.test.ts', 'test/agents/sandbox*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn git and the CLI; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
