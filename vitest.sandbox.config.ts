import { defineConfig } from 'vitest/config';

// `npm run test:sandbox`: the hostile executors against `sandbox: bwrap` and `sandbox: none`, and the real
// agent CLIs running the test command inside the sandbox (about 35 s together), kept out of `npm test`.
export default defineConfig({
  test: {
    include: ['test/hostile/sandbox*.test.ts', 'test/agents/sandbox*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 150_000,
    maxWorkers: 2,
  },
});
