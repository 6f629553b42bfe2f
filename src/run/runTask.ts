import { InternalError, oneLine } from '../errors.js';
import { chooseExecutor } from '../exec/executors.js';
import { dropEmptyBranch, taskBranch } from '../git/git.js';
import type { PooledWorktree } from '../git/pool.js';
import { countGitProcesses, currentGitCounter, GitProcessCounter } from '../git/count.js';
import { claimTask, type Claim } from '../state/locks.js';
import { utcStamp } from '../state/progress.js';
import { readTaskEntry } from '../task/store.js';
import type { OwnedChanges, Task } from '../task/task.js';
import { formatDuration } from '../util/duration.js';
import { runAttempt, type AttemptOutcome } from './attempt.js';
import { taskStart } from './startPoint.js';
import { checkPlanDrift, driftBase } from './drift.js';
import { maskSecrets } from '../util/secrets.js';
import type { RunContext } from './context.js';
import { retryBackoffMs, waitUnlessAborted } from './backoff.js';
import type { AttemptReport } from './executorStep.js';
import { addUsage, attemptUsage, usageFields } from './usage.js';
import { OwnedKeys, stillRunnable } from './ownedKeys.js';
import { emitAttemptFinished } from './attemptStats.js';
import { keepUnpublished } from './keepUnpublished.js';
import { pushChecked } from './publish.js';
import { RemoteRetries } from './remoteRetry.js';
import { forgetVerified, keptCommit, type Verified } from './verified.js';
import { FollowedTask, forgetRun } from '../task/follow.js';
import { clearDroppedBranch, writeFollowed } from './followedWrite.js';

export type TaskRunResult =
  | { kind: 'done'; commit: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'blocked'; reason: string }
  | { kind: 'cancelled' }
  | { kind: 'requeued' }
  /** Someone else claimed it first, or it changed before we could start: not ours to run. */
  | { kind: 'skipped' };

/**
 * Runs one task to a final state: claim, attempts with retries, final status, cleanup. Every status
 * write re-reads the file under its edit lock and checks that we still own the task.
 */
export async function runTask(ctx: RunContext, candidate: Task): Promise<TaskRunResult> {
  const claimed = await claimTask(ctx.paths.locks, candidate.id);
  if (claimed.kind === 'lost-race') {
    ctx.logger.debug({ task: candidate.id }, 'claim lost to another process');
    return { kind: 'skipped' };
  }
  const claim = claimed.claim;
  try {
    return await countGitProcesses(new GitProcessCounter(), () => runClaimed(ctx, candidate, claim));
  } finally {
    forgetRun(claim.id);
    await claim.release();
  }
}

async function runClaimed(ctx: RunContext, candidate: Task, claim: Claim): Promise<TaskRunResult> {
  // Re-read under the lock: the file may have changed (cancelled, edited, done by another daemon).
  const entry = await readTaskEntry(candidate.file, candidate.id).catch(() => undefined);
  if (!entry || entry.kind !== 'task' || entry.task.status !== 'queued') return { kind: 'skipped' };
  let task = entry.task;
  const branch = taskBranch(task.id);
  const maxAttempts = task.maxAttempts ?? ctx.rules.maxAttempts;
  const claimedAt = Date.now();
  // Once claimed, the owned keys are the daemon's (an executor may edit the real file): see ownedKeys.ts.
  const owned = new OwnedKeys({ locksDir: ctx.paths.locks, progress: ctx.progress });
  const mine = (t: Task) => stillRunnable(t) && claim.isHeld();
  // Once running, the file is followed by the claim: renamed, it is found again; unparsable, never written.
  let follow: FollowedTask | undefined;
  const write = async (changes: OwnedChanges, guard: (t: Task) => boolean = mine): Promise<boolean> => {
    const followed = follow;
    const result = await owned.update(task, changes, guard, followed ? (decide) => writeFollowed(ctx, followed, decide) : undefined);
    if (result.kind === 'updated') task = result.task;
    return result.kind === 'updated';
  };

  // A commit an earlier run checked but could not publish: published as it is, the executor does not run.
  let pending: Verified | undefined = await keptCommit(ctx, task);
  let start = pending ? { kind: 'ok' as const, commit: pending.baseCommit, on: [] } : await taskStart(ctx, task);
  // Only a task with planned_at can drift (and resolving base again costs a git call per task).
  if (start.kind === 'ok' && !pending && task.plannedAt !== undefined) {
    const drift = await checkPlanDrift(ctx.git, task, await driftBase(ctx));
    if (drift.kind === 'drifted') start = { kind: 'blocked', reason: drift.reason };
  }
  if (start.kind === 'blocked') {
    const reason = start.reason;
    await write({ status: 'blocked', error: reason, finished_at: utcStamp() }, (t) => t.status === 'queued');
    await ctx.progress.append(task.id, 'blocked', { reason });
    ctx.events.emit('task:blocked', { id: task.id, reason });
    return { kind: 'blocked', reason };
  }

  // Unknown while the remote (push: land) cannot be reached: the loop below tries again before any executor.
  let baseCommit = start.kind === 'ok' ? start.commit : undefined;
  const started = await write(
    {
      status: 'running',
      // The first attempt is counted here: one durable write of the task file fewer per task.
      attempts: task.attempts + 1,
      claimed_by: ctx.ownerId,
      started_at: utcStamp(),
      finished_at: null,
      error: null,
      commit: pending?.commit ?? null,
      branch,
      base_commit: baseCommit ?? null,
    },
    (t) => t.status === 'queued',
  );
  if (!started) return { kind: 'skipped' };
  follow = new FollowedTask(task, ctx.ownerId, claim.id);
  await ctx.progress.append(task.id, 'claimed', {
    by: ctx.ownerId,
    executor: chooseExecutor(task, ctx.rules) ?? 'none',
    on: start.kind === 'ok' && start.on.length > 0 ? start.on.join(',') : undefined,
  });

  const stillOurs = async () => {
    const where = await (follow as FollowedTask).locate();
    // Unparsable for now (an editor's save): the run goes on; its status is written once the file parses.
    if (where.kind === 'unreadable') return true;
    if (where.kind === 'gone' || !mine(where.task)) return false;
    // Put nightshift's keys back as soon as someone else changed them, not only at the next write.
    return owned.tampered(where.task).length === 0 || (await write({}));
  };
  /** The daemon is stopping: back to the queue with the attempts the task has left. */
  const requeueStopping = async (attempt: number, changes: OwnedChanges): Promise<TaskRunResult> => {
    await write({ status: 'queued', claimed_by: null, ...changes });
    await ctx.progress.append(task.id, 'requeued', { attempt, reason: 'daemon stopping' });
    ctx.events.emit('task:requeued', { id: task.id, reason: 'daemon stopping' });
    return { kind: 'requeued' };
  };
  let previousFailure: string | undefined;
  const remoteRetries = new RemoteRetries(ctx.rules.retryBackoffMs);
  /** Whether the task file already counts this attempt (the claim's write counts the first). */
  let counted = true;
  for (;;) {
    const attempt = counted ? task.attempts : task.attempts + 1;
    if (ctx.drainSignal?.aborted) {
      // Stopping before this attempt began: back to the queue without spending an attempt.
      return requeueStopping(attempt, { attempts: attempt - 1 });
    }
    if (!pending && ctx.rules.push === 'land' && (baseCommit === undefined || previousFailure !== undefined)) {
      // A retry in land mode starts from the newest landed base: after a land conflict that is the point.
      const again = await taskStart(ctx, task);
      if (again.kind === 'ok') baseCommit = again.commit;
      else if (again.kind === 'unreachable' || baseCommit === undefined) {
        // Before the executor: with the remote out of reach there is nothing to land on. No attempt spent.
        const delayMs = again.kind === 'unreachable' ? remoteRetries.next() : undefined;
        if (delayMs !== undefined && !ctx.drainSignal?.aborted) {
          await ctx.progress.append(task.id, 'retry-scheduled', { attempt, in: formatDuration(delayMs), reason: again.reason });
          if (await waitUnlessAborted(delayMs, ctx.drainSignal)) continue;
        }
        if (ctx.drainSignal?.aborted) continue; // back to the queue at the top of the loop
        const reason = again.kind === 'unreachable' ? `${again.reason}; fix access to ${ctx.rules.remote}, then requeue` : again.reason;
        await write({ status: 'blocked', error: reason, attempts: attempt - 1, finished_at: utcStamp(), claimed_by: null });
        await ctx.progress.append(task.id, 'blocked', { reason });
        ctx.events.emit('task:blocked', { id: task.id, reason });
        return { kind: 'blocked', reason };
      }
    }
    if (baseCommit === undefined) throw new InternalError('an attempt without a start commit');
    if (!counted && !(await write({ attempts: attempt, base_commit: baseCommit }))) return { kind: 'cancelled' };
    counted = false;
    ctx.events.emit('task:claimed', { id: task.id, attempt });
    await ctx.progress.append(task.id, 'attempt-started', { attempt, of: maxAttempts, base: baseCommit.slice(0, 7), publish_only: pending ? 'yes' : undefined });
    const log = ctx.logger.child({ task: task.id, attempt });

    let outcome: AttemptOutcome;
    const report: AttemptReport = { runs: [] };
    let worktree: PooledWorktree | undefined;
    try {
      if (pending && ctx.rules.push === 'branch') {
        // A kept commit for push: branch is pushed from the repository: no worktree needed.
        outcome = await pushChecked(ctx, { task, attempt, branch, baseCommit, commit: pending.commit, claim, stillOurs });
      } else {
        // Removed before any executor runs: only nightshift writes it, after its own checks.
        if (!pending) await forgetVerified(ctx.paths, task.id);
        worktree = await ctx.pool.checkout(branch, pending?.commit ?? baseCommit);
        // Before anything runs there: recovery must know where a dead owner's processes would be.
        await claim.setWorktree(worktree.path);
        log.info({ worktree: worktree.path, how: worktree.how, branch }, 'attempt started');
        const input = { task, attempt, baseCommit, branch, worktree: worktree.path, claim, previousFailure, report, publishOnly: pending, stillOurs };
        outcome = await runAttempt(ctx, input);
      }
    } catch (err) {
      // A bug or an environment failure (disk full, git broken): fail this attempt, keep the daemon alive.
      log.error({ err }, 'attempt crashed');
      const reason = `internal error: ${oneLine((err as Error).message ?? String(err), 200)}`;
      outcome = { kind: 'failure', reason, detail: reason, retry: true };
    } finally {
      // The owner file keeps naming the worktree: recovery only stops processes of this task there.
      await worktree?.release();
    }
    // Reasons quote executor output: no secret goes into the task file, progress.txt or the next prompt.
    if (outcome.kind === 'failure') outcome = { ...outcome, reason: maskSecrets(outcome.reason), detail: maskSecrets(outcome.detail) };
    if (outcome.kind === 'unpublished' || outcome.kind === 'blocked' || outcome.kind === 'waiting') outcome = { ...outcome, reason: maskSecrets(outcome.reason) };
    // Whatever an executor of this attempt may have written there goes; a kept commit keeps its record until
    // it is published or dropped (an interrupted publish-only attempt still has it to publish).
    const keepRecord = outcome.kind === 'unpublished' || (pending !== undefined && outcome.kind !== 'success' && outcome.kind !== 'failure');
    if (!keepRecord) await forgetVerified(ctx.paths, task.id);
    // Since the previous attempt finished (the first: since the claim): summed, a task's git processes.
    const gitProcesses = currentGitCounter()?.sinceLastLook();
    log.info({ outcome: outcome.kind, executors: report.runs.map((r) => r.executor), gitProcesses }, 'attempt finished');
    if (!pending) emitAttemptFinished(ctx, task, attempt, outcome, report);
    const used = attemptUsage(report);
    if (used.tokens !== undefined || used.costUsd !== undefined) await write(usageFields(addUsage({ tokens: task.tokens, costUsd: task.costUsd }, used)));

    switch (outcome.kind) {
      case 'success': {
        const written = await write({ status: 'done', commit: outcome.commit, branch, finished_at: utcStamp(), error: null, claimed_by: null });
        if (!written) return { kind: 'cancelled' };
        await ctx.progress.append(task.id, 'done', {
          attempt,
          duration: formatDuration(Date.now() - claimedAt),
          commit: outcome.commit.slice(0, 7),
          branch,
          ...usageFields({ tokens: task.tokens, costUsd: task.costUsd }),
        });
        ctx.events.emit('task:done', { id: task.id, attempt, commit: outcome.commit, branch });
        return { kind: 'done', commit: outcome.commit };
      }
      case 'unpublished': {
        // The commit passed every check: kept, and published again later without the executor.
        pending = { commit: outcome.commit, baseCommit: outcome.baseCommit };
        baseCommit = pending.baseCommit;
        const next = await keepUnpublished(ctx, { id: task.id, attempt, branch, outcome, retries: remoteRetries, write: (c) => write(c) });
        if (next !== 'retry') return next;
        counted = true; // no attempt spent
        continue;
      }
      case 'failure': {
        if (pending) {
          // The kept commit did not survive publishing (a conflict or a failed retest on the new base): the
          // next attempt runs the executor again.
          pending = undefined;
          await write({ commit: null });
        }
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        await ctx.progress.append(task.id, 'attempt-failed', { attempt, reason: outcome.reason });
        ctx.events.emit('task:attempt-failed', { id: task.id, attempt, reason: outcome.reason });
        if (outcome.retry && attempt < maxAttempts) {
          const delayMs = retryBackoffMs(ctx.rules.retryBackoffMs, attempt);
          if (!ctx.drainSignal?.aborted) {
            await ctx.progress.append(task.id, 'retry-scheduled', { attempt: attempt + 1, in: formatDuration(delayMs) });
            previousFailure = outcome.detail;
            if (await waitUnlessAborted(delayMs, ctx.drainSignal)) continue;
          }
          return requeueStopping(attempt, { branch: kept, error: outcome.reason });
        }
        const written = await write({ status: 'failed', error: outcome.reason, branch: kept, finished_at: utcStamp(), claimed_by: null });
        if (!written) return { kind: 'cancelled' };
        await ctx.progress.append(task.id, 'failed', { attempts: attempt, reason: outcome.reason });
        ctx.events.emit('task:failed', { id: task.id, attempt, reason: outcome.reason });
        return { kind: 'failed', reason: outcome.reason };
      }
      case 'blocked': {
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        // Not the task's fault: give the attempt back.
        await write({ status: 'blocked', error: outcome.reason, branch: kept, attempts: attempt - 1, finished_at: utcStamp(), claimed_by: null });
        await ctx.progress.append(task.id, 'blocked', { reason: outcome.reason });
        ctx.events.emit('task:blocked', { id: task.id, reason: outcome.reason });
        return { kind: 'blocked', reason: outcome.reason };
      }
      case 'waiting': {
        // Not the task's fault and it will pass by itself: back to the queue with the attempt given back;
        // the scheduler claims it again once an executor it may use is back.
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        await write({ status: 'queued', error: outcome.reason, branch: kept, attempts: attempt - 1, claimed_by: null });
        await ctx.progress.append(task.id, 'requeued', { attempt, reason: outcome.reason, until: outcome.until ? utcStamp(outcome.until) : 'restart' });
        ctx.events.emit('task:requeued', { id: task.id, reason: outcome.reason });
        return { kind: 'requeued' };
      }
      case 'interrupted': {
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        return requeueStopping(attempt, { branch: kept, error: 'interrupted: the daemon stopped during the attempt' });
      }
      case 'lost': {
        if ((await dropEmptyBranch(ctx.git, branch, baseCommit)) === null) await clearDroppedBranch(ctx, follow, branch);
        if (outcome.why === 'cancelled') {
          ctx.events.emit('task:cancelled', { id: task.id });
          return { kind: 'cancelled' };
        }
        log.warn({}, 'claim lost during the attempt; stopping without publishing');
        return { kind: 'skipped' };
      }
      default: {
        const never: never = outcome;
        throw new Error(`unexpected attempt outcome ${JSON.stringify(never)}`);
      }
    }
  }
}
