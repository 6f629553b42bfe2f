import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { failedHeadOfChain } from '../helpers/chain.js';

const { sandbox } = cleanUpAfterEach();

describe('limits that agree (slow)', () => {
  it('a 10,000-task chain whose head fails is blocked whole in one scan', async () => {
    const sb = await sandbox('---\n---\n');
    const seconds = await failedHeadOfChain(sb, 10_000);
    console.log(`chain of 10,000: blocked 9,999 dependents in ${seconds.toFixed(2)} s after the head failed`);
    expect(seconds).toBeLessThan(60);
  }, 600_000);
});
