import { describe, expect, it } from 'vitest';
import { progressEvents, taskText } from '../helpers/repo.js';
import { readTask } from '../helpers/task.js';
import { cleanUpAfterEach } from '../helpers/cleanup.js';
import { spawnCli, waitFor } from '../helpers/wait.js';

const { sandbox, pids } = cleanUpAfterEach();

describe('a task in retry backoff', () => {
  it('lends its concurrency slot: the next ready task runs meanwhile', async () => {
    // One slot and a ten-minute backoff: without the lent slot the second task would wait ten minutes.
    const sb = await sandbox('---\nconcurrency: 1\nmax_attempts: 2\nretry_backoff: 10m\n---\n');
    await sb.write('tasks/001-flaky.md', taskText({ title: 'Flaky', run: 'exit 1' }));
    await sb.write('tasks/002-next.md', taskText({ title: 'Next', run: 'echo n > n.txt' }));
    const daemon = spawnCli(sb, ['daemon', 'start']);
    pids.push(daemon.child.pid as number);

    await waitFor('002-next done', async () => (await readTask(sb, '002-next')).fm.status === 'done', 30_000);
    const events = progressEvents(await sb.read('progress.txt'));
    const at = (id: string, event: string) => events.findIndex((e) => e.id === id && e.event === event);
    expect(at('001-flaky', 'retry-scheduled')).toBeGreaterThan(-1);
    expect(at('002-next', 'claimed')).toBeGreaterThan(at('001-flaky', 'retry-scheduled'));
    // The flaky task still holds its claim, waiting for its second attempt.
    expect((await readTask(sb, '001-flaky')).fm.status).toBe('running');
    expect(events.filter((e) => e.id === '001-flaky' && e.event === 'attempt-started')).toHaveLength(1);

    // Stopping sends it back to the queue with its second attempt unspent.
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    const flaky = await readTask(sb, '001-flaky');
    expect(flaky.fm.status).toBe('queued');
    expect(flaky.fm.attempts).toBe(1);
    expect((await sb.cli(['list'])).stdout).toContain('001-flaky');
  });
});
