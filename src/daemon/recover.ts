import { join } from 'node:path';
import { removeWorktree } from '../git/git.js';
import { claimTask, readLockOwner } from '../state/locks.js';
import { readTaskEntry, updateTask } from '../task/store.js';
import type { Task } from '../task/task.js';
import type { RunContext } from '../run/context.js';
import { signalGroup } from '../exec/spawn.js';
import { hostname } from 'node:os';

/**
 * A task left `running` by a process that is gone (crash, kill -9, reboot). If we can take its claim,
 * nobody is running it: stop what it left on this host, remove its half-made worktree and put it back in
 * the queue (the interrupted attempt counts), or fail it once it has used all its attempts.
 */
export async function recoverTask(ctx: RunContext, task: Task): Promise<'recovered' | 'failed' | 'held'> {
  const owner = await readLockOwner(ctx.paths.locks, task.id);
  const claimed = await claimTask(ctx.paths.locks, task.id);
  if (claimed.kind === 'lost-race') return 'held';
  try {
    if (owner?.pgid && owner.host === hostname()) signalGroup(owner.pgid, 'SIGKILL');
    const entry = await readTaskEntry(task.file, task.id).catch(() => undefined);
    if (!entry || entry.kind !== 'task' || entry.task.status !== 'running') return 'held';
    await removeWorktree(ctx.git, join(ctx.paths.worktrees, task.id));
    const maxAttempts = entry.task.maxAttempts ?? ctx.rules.maxAttempts;
    const exhausted = entry.task.attempts >= maxAttempts;
    const reason = `interrupted: ${entry.task.claimedBy ?? 'a previous daemon'} stopped during attempt ${entry.task.attempts}`;
    await updateTask(ctx.paths.locks, task.file, task.id, (t) =>
      t.status === 'running'
        ? { status: exhausted ? 'failed' : 'queued', claimed_by: null, error: reason }
        : undefined,
    );
    await ctx.progress.append(task.id, 'recovered', { attempts: entry.task.attempts, from: entry.task.claimedBy });
    if (exhausted) {
      await ctx.progress.append(task.id, 'failed', { attempts: entry.task.attempts, reason });
      ctx.events.emit('task:failed', { id: task.id, attempt: entry.task.attempts, reason });
      return 'failed';
    }
    return 'recovered';
  } finally {
    await claimed.claim.release();
  }
}
