import { toError } from '../errors.js';
import { removeAbandonedWorktrees } from '../git/worktrees.js';
import type { RunContext } from '../run/context.js';
import { isClaimed } from '../locks/claims.js';
import { isLiveRun } from '../task/follow.js';
import type { Task, TaskEntry } from '../task/task.js';
import { recoverTask, type RecoverResult } from './recover.js';

/**
 * What a daemon that died (or was killed) left behind: worktrees, a pool with processes still running in
 * it, and tasks still marked running. Taken back before anything new runs on them.
 */

/**
 * At start-up: worktrees a killed `git worktree add` left locked are removed; the pool is kept for this
 * run (up to its concurrency), and what a dead run left running there is stopped. A failure only costs
 * disk space, so it is a warning.
 */
export async function tidyWorktrees(ctx: RunContext, concurrency: number): Promise<void> {
  try {
    const removed = await removeAbandonedWorktrees(ctx.git, ctx.paths.worktrees);
    if (removed.length > 0) ctx.logger.info({ removed }, 'removed worktrees a killed git worktree add left locked');
    const pool = await ctx.pool.tidy(concurrency);
    if (pool.removed.length > 0 || pool.orphans > 0) ctx.logger.info(pool, 'tidied the worktree pool');
  } catch (err) {
    ctx.logger.warn({ err: toError(err) }, 'could not look for abandoned worktrees');
  }
}

/**
 * Tasks left running by a process that is gone: recovered one by one, each result handed to `recovered`
 * as it comes (the scheduler looks at the file again, or retries a held one soon, and counts it).
 */
export async function recoverLeftRunning(
  ctx: RunContext,
  entries: TaskEntry[],
  running: ReadonlyMap<string, unknown>,
  recovered: (task: Task, result: RecoverResult) => void,
): Promise<void> {
  for (const e of entries) {
    if (e.kind !== 'task' || e.task.status !== 'running' || running.has(e.task.id)) continue;
    // Our own run under another name (the file was renamed while it runs): never recovered from ourselves.
    if (isLiveRun(e.task)) continue;
    // A live process (another daemon on this queue) runs it: nothing to recover, and nothing to look at
    // again soon; with daemons sharing a queue that would mean a rescan every few seconds all night.
    if (await isClaimed(ctx.paths.locks, e.task.id).catch(() => false)) continue;
    recovered(e.task, await recoverTask(ctx, e.task));
  }
}
