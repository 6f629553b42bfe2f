import { describe, expect, it } from 'vitest';
import { chaosRun, raceRun } from '../helpers/chaos.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';

// npm run test:chaos (not part of npm test): the full chaos and race runs. Figures are printed.
const left = cleanUpAfterEach();

describe('chaos (full)', () => {
  it('40 tasks, the daemon SIGKILLed 12 times at random moments and restarted each time', async () => {
    const figures = await chaosRun(left, 40, 12);
    console.log(`chaos: ${JSON.stringify(figures)}`);
    expect(figures.kills).toBeGreaterThanOrEqual(10);
  }, 1_200_000);

  it('two daemons racing on 100 tasks run each exactly once', async () => {
    const figures = await raceRun(left, 100);
    console.log(`race: ${JSON.stringify(figures)}`);
    expect(Object.values(figures.byDaemon).reduce((a, b) => a + b, 0)).toBe(100);
  }, 1_200_000);
});
