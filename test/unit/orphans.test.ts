import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killProcessesIn } from '../../src/exec/orphans.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { livePidsMatching, sleepMarker, waitFor } from '../helpers/wait.js';

const { markers, tempDir } = cleanUpAfterEach();

/** A detached shell with a child, both carrying `worktree` in their environment, like an executor's group. */
function orphan(worktree: string, marker: string, taskId = 'some-task'): void {
  const child = spawn('sh', ['-c', `sleep ${marker} & sleep ${marker}; wait`], {
    env: { ...process.env, NIGHTSHIFT_WORKTREE: worktree, NIGHTSHIFT_TASK_ID: taskId },
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

describe('killProcessesIn', () => {
  it('kills every process (grandchildren too) whose environment names the worktree, and nothing else', async () => {
    const mine = sleepMarker(60);
    const neighbour = sleepMarker(60);
    markers.push(mine, neighbour);
    orphan('/tmp/wt/001-task', mine);
    // Same prefix, another task: must survive.
    orphan('/tmp/wt/001-task-2', neighbour);
    await waitFor(
      'both groups to run',
      async () => (await livePidsMatching(mine)).length === 3 && (await livePidsMatching(neighbour)).length === 3,
    );

    // The shell (its command line names the marker too) and both sleeps.
    expect(await killProcessesIn('/tmp/wt/001-task')).toBe(3);
    await waitFor('the orphans to die', async () => (await livePidsMatching(mine)).length === 0);
    expect(await livePidsMatching(neighbour)).toHaveLength(3);
    expect(await killProcessesIn('/tmp/wt/001-task')).toBe(0);
  });

  it("with a task id, kills only that task's processes in a pooled worktree, not the next task's", async () => {
    const dead = sleepMarker(60);
    const next = sleepMarker(60);
    markers.push(dead, next);
    orphan('/tmp/wt/_pool-1', dead, 'old-task');
    orphan('/tmp/wt/_pool-1', next, 'new-task');
    await waitFor(
      'both groups to run',
      async () => (await livePidsMatching(dead)).length === 3 && (await livePidsMatching(next)).length === 3,
    );

    expect(await killProcessesIn('/tmp/wt/_pool-1', 'old-task')).toBe(3);
    await waitFor("the dead task's orphans to die", async () => (await livePidsMatching(dead)).length === 0);
    expect(await livePidsMatching(next)).toHaveLength(3);
    // Without a task id the new holder of the worktree clears everything in it.
    expect(await killProcessesIn('/tmp/wt/_pool-1')).toBe(3);
  });
});

describe('killProcessesIn, for a process that dropped the marker', () => {
  it("kills what runs inside the worktree without NIGHTSHIFT_WORKTREE, unless only one task's processes are asked for", async () => {
    const dir = await tempDir('nightshift-orphan-cwd-');
    const marker = sleepMarker(60);
    markers.push(marker);
    const child = spawn('sleep', [marker], { cwd: dir, env: { PATH: process.env.PATH }, detached: true, stdio: 'ignore' });
    child.unref();
    await waitFor('the sleep to run', async () => (await livePidsMatching(marker)).length === 1);
    expect(await killProcessesIn(dir, 'some-task')).toBe(0);
    expect(await killProcessesIn(dir)).toBe(1);
    await waitFor('the sleep to die', async () => (await livePidsMatching(marker)).length === 0);
  });
});
