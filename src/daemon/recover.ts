import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { dropEmptyBranch, taskBranch } from '../git/git.js';
import { removeWorktree } from '../git/worktrees.js';
import { claimTask, readLockOwner } from '../locks/claims.js';
import { pidAlive } from '../locks/pids.js';
import { readTaskEntry } from '../task/store.js';
import { guardedTaskFile, taskTransitions } from '../task/transitions.js';
import type { Task, TaskEntry } from '../task/task.js';
import { readdir } from 'node:fs/promises';
import type { RunContext } from '../run/context.js';
import { signalGroup } from '../exec/spawn.js';
import { killProcessesIn } from '../exec/orphans.js';
import { findFinishedCommit, finalizeTask, keptAfterCrash } from './finalize.js';
import { isLiveRun } from '../task/follow.js';
import { recoverSpend } from '../budget/recoverSpend.js';

export type RecoverResult = 'recovered' | 'finalized' | 'failed' | 'held';

/**
 * A task left `running` by a process that is gone (crash, kill -9, reboot). If we can take its claim,
 * nobody is running it: stop what it left on this host and remove its half-made worktree. If the dead
 * process had already committed the task, finish its publishing and mark it done (never re-run the
 * executor); otherwise put it back in the queue (the interrupted attempt counts), or fail it once it has
 * used all its attempts.
 */
export async function recoverTask(ctx: RunContext, task: Task): Promise<RecoverResult> {
  const owner = await readLockOwner(ctx.paths.locks, task.id);
  const claimed = await claimTask(ctx.paths.locks, task.id);
  if (claimed.kind === 'lost-race') return 'held';
  const claim = claimed.claim;
  try {
    // Only a dead owner's group: a live owner may have finished and released between our two reads.
    if (owner?.pgid && owner.host === hostname() && !pidAlive(owner.pid)) signalGroup(owner.pgid, 'SIGKILL');
    const entry = await readTaskEntry(task.file, task.id).catch(() => undefined);
    // A run of this very process, renamed: its claim is under the old name, but it is anything but dead.
    if (!entry || entry.kind !== 'task' || entry.task.status !== 'running' || isLiveRun(entry.task)) return 'held';
    const running = entry.task;
    // The dead owner may have died before recording its executor's group; anything of this task still
    // working in its worktree is an orphan now (we hold the claim). The worktree is pooled: whoever leases
    // it next resets it, and other tasks' processes there are left alone.
    const worktree = owner?.worktree;
    const orphans = worktree ? await killProcessesIn(worktree, task.id) : 0;
    if (orphans > 0) ctx.logger.warn({ task: task.id, orphans, worktree }, 'killed processes left running in the worktree');
    // Its executors are stopped: what they reported before the owner died goes into the ledger now.
    await recoverSpend(ctx, running);
    // A per-task worktree from a nightshift before the pool.
    const legacy = join(ctx.paths.worktrees, task.id);
    if (existsSync(legacy)) {
      await killProcessesIn(legacy);
      await removeWorktree(ctx.git, legacy);
    }

    const commit = await findFinishedCommit(ctx, running, owner?.commit);
    if (commit) {
      // A lost claim means someone else owns the task now: nothing more is ours to write.
      const finalized = await finalizeTask(ctx, running, commit, claim);
      if (finalized !== 'lost') return finalized === 'done' ? 'finalized' : 'recovered';
      return 'held';
    }

    const maxAttempts = running.maxAttempts ?? ctx.rules.maxAttempts;
    const exhausted = running.attempts >= maxAttempts;
    const reason = `interrupted: ${running.claimedBy ?? 'a previous daemon'} stopped during attempt ${running.attempts}`;
    // The next attempt resets the branch anyway; one that holds no commit is not worth naming.
    const kept = running.baseCommit ? await dropEmptyBranch(ctx.git, taskBranch(task.id), running.baseCommit) : undefined;
    // A verified commit that was being landed is kept: the next claim lands it without the executor.
    const keep = await keptAfterCrash(ctx, running, owner?.commit);
    const file = guardedTaskFile(ctx.paths.locks, running, (t) => t.status === 'running' && t.claimedBy === running.claimedBy);
    const then = exhausted ? 'failed' : 'queued';
    if (!(await taskTransitions(ctx, file).recovered({ then, reason, branch: kept, kept: keep }))) return 'held';
    return exhausted ? 'failed' : 'recovered';
  } finally {
    await claim.release();
  }
}

/**
 * Claim locks a dead process left on tasks that are not running (killed after writing its final status,
 * before releasing): harmless, since the next claim takes them over, but clutter. Taking such a lock and
 * releasing it removes it; a lock some live process holds is left alone.
 */
export async function sweepDeadClaims(ctx: RunContext, entries: TaskEntry[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(ctx.paths.locks);
  } catch {
    return;
  }
  const claimed = names.flatMap((name) => /^([^.].*)\.lock$/.exec(name)?.[1] ?? []);
  // Usually none: no need to look at every entry of a big queue then.
  if (claimed.length === 0) return;
  const byId = new Map(entries.flatMap((e) => (e.kind === 'task' ? [[e.task.id, e.task.status] as const] : [])));
  for (const id of claimed) {
    const status = byId.get(id);
    if (status === undefined || status === 'running' || status === 'queued') continue;
    const got = await claimTask(ctx.paths.locks, id);
    if (got.kind === 'claimed') await got.claim.release();
  }
}
