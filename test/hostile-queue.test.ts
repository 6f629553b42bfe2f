import { describe, expect, it } from 'vitest';
import { failedHeadOfChain } from './helpers/chain.js';
import { progressEvents, taskText, type Sandbox } from './helpers/repo.js';
import { readTask } from './helpers/task.js';
import { cleanUpAfterEach } from './helpers/cleanup.js';

const { sandbox } = cleanUpAfterEach();

const events = async (sb: Sandbox) => progressEvents(await sb.read('progress.txt').catch(() => ''));

describe('limits that agree', () => {
  it('a 1,000-task chain whose head fails is blocked whole in the one scan after the failure', async () => {
    // The 10,000-task variant is in test/chaos/hostile-chain.chaos.ts (writing its files alone takes a while).
    const sb = await sandbox('---\n---\n');
    const seconds = await failedHeadOfChain(sb, 1000);
    console.log(`chain of 1,000: blocked 999 dependents in ${seconds.toFixed(2)} s after the head failed`);
    expect(seconds).toBeLessThan(30);
  }, 120_000);

  it('a concurrency the worktree pool cannot hold is a configuration error at start, not failed tasks', async () => {
    const sb = await sandbox('---\nconcurrency: 1000\n---\n');
    await sb.write('tasks/001-a.md', taskText({ title: 'A', run: 'echo a > a.txt' }));
    const fromRules = await sb.cli(['daemon', 'start', '--once']);
    expect(fromRules.code).toBe(2);
    expect(fromRules.stderr).toContain('concurrency: 1000 is more than the worktree pool can hold (at most 256 tasks at once); use 256 or less');

    await sb.write('rules.md', '---\n---\n');
    const fromFlag = await sb.cli(['daemon', 'start', '--once', '--concurrency', '257']);
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--concurrency 257 is more than the worktree pool can hold (at most 256 tasks at once)');
    expect(fromFlag.stderr).toContain('--concurrency 256');
    // Nothing ran, nothing was written.
    expect((await readTask(sb, '001-a')).fm.status).toBeUndefined();
    expect(await events(sb)).toEqual([]);

    const ok = await sb.cli(['daemon', 'start', '--once', '--concurrency', '256']);
    expect(ok.code).toBe(0);
    expect((await readTask(sb, '001-a')).fm.status).toBe('done');
  }, 60_000);
});
