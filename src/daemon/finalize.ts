import { oneLine, toError } from '../errors.js';
import { fetchBase, isAncestor, resolveCommit, taskBranch } from '../git/git.js';
import { pushCommit } from '../git/publish.js';
import type { Claim } from '../locks/claims.js';
import type { Task } from '../task/task.js';
import { guardedTaskFile, taskTransitions, type KeptCommit } from '../task/transitions.js';
import type { RunContext } from '../run/context.js';
import { maskSecrets } from '../util/secrets.js';
import { pinBranch } from '../run/publish.js';
import { checkKept, isTaskCommit, recordVerified } from '../run/verified.js';

/**
 * The commit a dead run finished, if it got that far: only the commit the dead owner recorded in its claim
 * (nightshift records it after guards, tests and review passed, and in land mode records the rebased commit
 * again right before pushing it). A trailer alone proves nothing: an executor, or another clone landing
 * work of its own, can write one. push: branch: the recorded commit, one commit on top of base_commit with
 * the trailer. push: land: that exact commit must already be on the remote's base (one that has not
 * landed yet may still be kept: see keptAfterCrash).
 */
export async function findFinishedCommit(ctx: RunContext, task: Task, recorded: string | undefined): Promise<string | undefined> {
  if (!task.baseCommit || !recorded) return undefined;
  const commit = await resolveCommit(ctx.git, recorded);
  if (commit !== recorded) return undefined;
  if (ctx.rules.push === 'land') {
    const fetched = await fetchBase(ctx.git, ctx.rules.remote, ctx.base);
    if (fetched.kind !== 'ok' || !(await isAncestor(ctx.git, commit, fetched.commit))) return undefined;
    return (await isTaskCommit(ctx.git, commit, task.id)) ? commit : undefined;
  }
  return (await isTaskCommit(ctx.git, commit, task.id, task.baseCommit)) ? commit : undefined;
}

/**
 * How finalizing ended: done; requeued (the push failed: the commit is kept and the next claim publishes
 * it without the executor); or lost (someone else owns the task now).
 */
export type Finalized = 'done' | 'requeued' | 'lost';

/** Finishes a recovered task whose commit exists: push it if rules.md wants it pushed, then mark it done. */
export async function finalizeTask(ctx: RunContext, task: Task, commit: string, claim: Claim): Promise<Finalized> {
  const branch = taskBranch(task.id);
  if (!(await claim.verify())) return 'lost';
  // Still the dead run's: nobody requeued, cancelled or took it over meanwhile.
  const stillDead = (now: Task) => now.status === 'running' && now.claimedBy === task.claimedBy;
  const t = taskTransitions(ctx, guardedTaskFile(ctx.paths.locks, task, stillDead));
  await t.finalizing(commit);
  // push: land only finalizes a commit that is already on the remote's base (see findFinishedCommit).
  if (ctx.rules.push === 'branch' && task.baseCommit) {
    // The recorded commit, by its sha: whatever the branch was moved to meanwhile is not published.
    await pinBranch(ctx.git, branch, commit);
    try {
      await pushCommit(ctx.git, ctx.rules.remote, branch, commit);
    } catch (err) {
      const reason = maskSecrets(`push to ${ctx.rules.remote} failed: ${oneLine(toError(err).message, 200)}`);
      await recordVerified(ctx.paths, task.id, { commit, baseCommit: task.baseCommit }, true);
      return (await t.finalized({ kind: 'requeued', commit, branch, reason })) ? 'requeued' : 'lost';
    }
    await ctx.progress.append(task.id, 'pushed', { attempt: task.attempts, remote: ctx.rules.remote, branch, commit: commit.slice(0, 7) });
  }
  if (!(await claim.verify())) return 'lost';
  return (await t.finalized({ kind: 'done', commit, branch })) ? 'done' : 'lost';
}

/**
 * push: land. A recorded commit that had not reached the remote's base is still finished work when it is
 * the verified commit on the task's branch (nightshift's record agrees): it is kept in the task file, and
 * the next claim rebases, retests and lands it without running the executor.
 */
export async function keptAfterCrash(ctx: RunContext, task: Task, recorded: string | undefined): Promise<KeptCommit | undefined> {
  if (ctx.rules.push !== 'land' || !recorded) return undefined;
  const kept = await checkKept(ctx, task.id, recorded);
  return kept ? { commit: kept.commit, baseCommit: kept.baseCommit } : undefined;
}
