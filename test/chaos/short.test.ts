import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../helpers/repo.js';
import { chaosRun, raceRun } from '../helpers/chaos.js';

// The short variants; `npm run test:chaos` runs the full ones (40 tasks and 12 kills, 100 racing tasks).
let sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.map((sb) => sb.cleanup()));
  sandboxes = [];
});

describe('chaos (short)', () => {
  it('8 tasks, the daemon SIGKILLed 3 times: every task done once, nothing lost or left behind', async () => {
    const figures = await chaosRun(sandboxes, 8, 3);
    expect(figures.kills).toBe(3);
  }, 180_000);

  it('two daemons racing on 12 tasks run each exactly once', async () => {
    const figures = await raceRun(sandboxes, 12);
    expect(Object.values(figures.byDaemon).reduce((a, b) => a + b, 0)).toBe(12);
  }, 180_000);
});
