import { describe, expect, it } from 'vitest';
import { chaosRun, raceRun } from '../helpers/chaos.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

// The short variants; `npm run test:chaos` runs the full ones (40 tasks and 12 kills, 100 racing tasks).
const left = cleanUpAfterEach();

describe('chaos (short)', () => {
  it('8 tasks, the daemon SIGKILLed 3 times: every task done once, nothing lost or left behind', async () => {
    const figures = await chaosRun(left, 8, 3);
    expect(figures.kills).toBe(3);
  }, 180_000);

  it('two daemons racing on 12 tasks run each exactly once', async () => {
    const figures = await raceRun(left, 12);
    expect(Object.values(figures.byDaemon).reduce((a, b) => a + b, 0)).toBe(12);
  }, 180_000);
});
