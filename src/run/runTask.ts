import { InternalError, oneLine } from '../errors.js';
import { withDenied } from './denied.js';
import { chooseExecutor } from '../exec/executors.js';
import { dropEmptyBranch, taskBranch } from '../git/git.js';
import type { PooledWorktree } from '../git/pool.js';
import { countGitProcesses, currentGitCounter, GitProcessCounter } from '../git/count.js';
import { claimTask, type Claim } from '../locks/claims.js';
import { readTaskEntry } from '../task/store.js';
import type { Task } from '../task/task.js';
import { taskTransitions } from '../task/transitions.js';
import { runAttempt } from './attempt.js';
import { taskStart } from './startPoint.js';
import { checkPlanDrift, driftBase } from './drift.js';
import { maskSecrets } from '../util/secrets.js';
import type { RunContext } from './context.js';
import { retryBackoffMs, waitOutBackoff } from './backoff.js';
import type { AttemptOutcome, AttemptReport, TaskRunResult } from './outcome.js';
import { addUsage, attemptUsage, usageFields } from './usage.js';
import { emitAttemptFinished } from './attemptStats.js';
import { keepUnpublished } from './keepUnpublished.js';
import { pushChecked } from './publish.js';
import { RemoteRetries } from './remoteRetry.js';
import { forgetVerified, keptCommit, type Verified } from './verified.js';
import { forgetRun } from '../task/follow.js';
import { RunFile } from './runFile.js';
import { attemptSpendKey, budgetBeforeAttempt, recordAttemptSpend, type AttemptBudget } from '../budget/attemptSpend.js';

export type { TaskRunResult } from './outcome.js';

/**
 * Runs one task to a final state: claim, attempts with retries, final status, cleanup. Every status
 * change is a transition (task/transitions.ts) written through the run's file (runFile.ts), which re-reads
 * it under its edit lock and checks that we still own the task.
 */
export async function runTask(ctx: RunContext, candidate: Task): Promise<TaskRunResult> {
  const claimed = ctx.claims ? await ctx.claims.claim(candidate) : await claimTask(ctx.paths.locks, candidate.id);
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
  const file = new RunFile(ctx, entry.task, claim);
  const t = taskTransitions(ctx, file);
  const branch = taskBranch(file.task.id);
  const maxAttempts = file.task.maxAttempts ?? ctx.rules.maxAttempts;
  const claimedAt = Date.now();

  // A commit an earlier run checked but could not publish: published as it is, the executor does not run.
  let pending: Verified | undefined = await keptCommit(ctx, file.task);
  let start = pending ? { kind: 'ok' as const, commit: pending.baseCommit, on: [] } : await taskStart(ctx, file.task);
  // Only a task with planned_at can drift (and resolving base again costs a git call per task).
  if (start.kind === 'ok' && !pending && file.task.plannedAt !== undefined) {
    const drift = await checkPlanDrift(ctx.git, file.task, await driftBase(ctx));
    if (drift.kind === 'drifted') start = { kind: 'blocked', reason: drift.reason };
  }
  if (start.kind === 'blocked') {
    await t.blocked(start.reason);
    return { kind: 'blocked', reason: start.reason };
  }

  // Unknown while the remote (push: land) cannot be reached: the loop below tries again before any executor.
  let baseCommit = start.kind === 'ok' ? start.commit : undefined;
  const executor = chooseExecutor(file.task, ctx.rules) ?? 'none';
  const on = start.kind === 'ok' && start.on.length > 0 ? start.on.join(',') : undefined;
  if (!(await t.claim({ by: ctx.ownerId, executor, on, branch, baseCommit, commit: pending?.commit }))) return { kind: 'skipped' };

  const stillOurs = () => file.stillOurs();
  let previousFailure: string | undefined;
  const remoteRetries = new RemoteRetries(ctx.rules.retryBackoffMs);
  /** Whether the task file already counts this attempt (the claim's write counts the first). */
  let counted = true;
  for (;;) {
    const attempt = counted ? file.task.attempts : file.task.attempts + 1;
    if (ctx.drainSignal?.aborted) {
      // Stopping before this attempt began: back to the queue without spending an attempt.
      await t.requeued({ attempt, givesBack: true });
      return { kind: 'requeued' };
    }
    // Before each attempt: a reached day or run budget sends the task back to wait, its own budget fails it.
    const budget: AttemptBudget = pending ? { kind: 'go' } : await budgetBeforeAttempt(ctx, file.task);
    if (budget.kind !== 'go') {
      const kept = baseCommit === undefined ? null : await dropEmptyBranch(ctx.git, branch, baseCommit);
      if (budget.kind === 'wait') {
        await t.waitingForBudget({ attempt, reason: budget.reason, branch: kept });
        return { kind: 'requeued' };
      }
      // Its last attempt is the one that spent the budget: this one never starts.
      if (!(await t.failed({ attempt: file.task.attempts, reason: budget.reason, branch: kept }))) return { kind: 'cancelled' };
      return { kind: 'failed', reason: budget.reason };
    }
    if (!pending && ctx.rules.push === 'land' && (baseCommit === undefined || previousFailure !== undefined)) {
      // A retry in land mode starts from the newest landed base: after a land conflict that is the point.
      const again = await taskStart(ctx, file.task);
      if (again.kind === 'ok') baseCommit = again.commit;
      else if (again.kind === 'unreachable' || baseCommit === undefined) {
        // Before the executor: with the remote out of reach there is nothing to land on. No attempt spent.
        const delayMs = again.kind === 'unreachable' ? remoteRetries.next() : undefined;
        if (delayMs !== undefined && !ctx.drainSignal?.aborted) {
          await t.retryScheduled({ attempt, delayMs, reason: again.reason });
          if (await waitOutBackoff(ctx, t.id, delayMs)) continue;
        }
        if (ctx.drainSignal?.aborted) continue; // back to the queue at the top of the loop
        const reason = again.kind === 'unreachable' ? `${again.reason}; fix access to ${ctx.rules.remote}, then requeue` : again.reason;
        await t.blocked(reason, { attempt });
        return { kind: 'blocked', reason };
      }
    }
    if (baseCommit === undefined) throw new InternalError('an attempt without a start commit');
    const begun = await t.startAttempt({ attempt, of: maxAttempts, baseCommit, publishOnly: pending !== undefined, count: !counted });
    if (!begun) return { kind: 'cancelled' };
    counted = false;
    const log = ctx.logger.child({ task: file.task.id, attempt });

    let outcome: AttemptOutcome;
    const report: AttemptReport = { runs: [] };
    let worktree: PooledWorktree | undefined;
    let spend: { key: string; task: string; attempt: number } | undefined;
    try {
      if (pending && ctx.rules.push === 'branch') {
        // A kept commit for push: branch is pushed from the repository: no worktree needed.
        outcome = await pushChecked(ctx, { task: file.task, attempt, branch, baseCommit, commit: pending.commit, claim, stillOurs });
      } else {
        // Removed before any executor runs: only nightshift writes it, after its own checks.
        if (!pending) await forgetVerified(ctx.paths, file.task.id);
        spend = { key: await attemptSpendKey(ctx, file.task, attempt), task: file.task.id, attempt };
        worktree = await ctx.pool.checkout(branch, pending?.commit ?? baseCommit);
        // Before anything runs there: recovery must know where a dead owner's processes would be.
        await claim.setWorktree(worktree.path);
        log.info({ worktree: worktree.path, how: worktree.how, branch }, 'attempt started');
        const task = file.task;
        const input = {
          task,
          attempt,
          baseCommit,
          branch,
          worktree: worktree.path,
          claim,
          previousFailure,
          report,
          publishOnly: pending,
          stillOurs,
          maxBudgetUsd: budget.kind === 'go' ? budget.remainingUsd : undefined,
          maxTokens: budget.kind === 'go' ? budget.remainingTokens : undefined,
        };
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
    outcome = withDenied(outcome, report);
    // Reasons quote executor output: no secret goes into the task file, progress.txt or the next prompt.
    if (outcome.kind === 'failure') outcome = { ...outcome, reason: maskSecrets(outcome.reason), detail: maskSecrets(outcome.detail) };
    if (outcome.kind === 'unpublished' || outcome.kind === 'blocked' || outcome.kind === 'waiting')
      outcome = { ...outcome, reason: maskSecrets(outcome.reason) };
    // Whatever an executor of this attempt may have written there goes; a kept commit keeps its record until
    // it is published or dropped (an interrupted publish-only attempt still has it to publish).
    const keepRecord =
      outcome.kind === 'unpublished' || (pending !== undefined && outcome.kind !== 'success' && outcome.kind !== 'failure');
    if (!keepRecord) await forgetVerified(ctx.paths, file.task.id);
    // Since the previous attempt finished (the first: since the claim): summed, a task's git processes.
    const gitProcesses = currentGitCounter()?.sinceLastLook();
    log.info({ outcome: outcome.kind, executors: report.runs.map((r) => r.executor), gitProcesses }, 'attempt finished');
    if (!pending) emitAttemptFinished(ctx, file.task, attempt, outcome, report);
    if (spend) await recordAttemptSpend(ctx, spend, report);
    const used = attemptUsage(report);
    const { tokens, costUsd } = file.task;
    if (used.tokens !== undefined || used.costUsd !== undefined) await file.write(usageFields(addUsage({ tokens, costUsd }, used)));

    switch (outcome.kind) {
      case 'success': {
        const usage = usageFields({ tokens: file.task.tokens, costUsd: file.task.costUsd });
        const durationMs = Date.now() - claimedAt;
        if (!(await t.done({ attempt, commit: outcome.commit, branch, durationMs, usage }))) return { kind: 'cancelled' };
        return { kind: 'done', commit: outcome.commit };
      }
      case 'unpublished': {
        // The commit passed every check: kept, and published again later without the executor.
        pending = { commit: outcome.commit, baseCommit: outcome.baseCommit };
        baseCommit = pending.baseCommit;
        const next = await keepUnpublished(ctx, { transitions: t, attempt, branch, outcome, retries: remoteRetries });
        if (next !== 'retry') return next;
        counted = true; // no attempt spent
        continue;
      }
      case 'failure': {
        if (pending) {
          // The kept commit did not survive publishing (a conflict or a failed retest on the new base): the
          // next attempt runs the executor again.
          pending = undefined;
          await file.write({ commit: null });
        }
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        await t.attemptFailed(attempt, outcome.reason);
        if (outcome.retry && attempt < maxAttempts) {
          const delayMs = retryBackoffMs(ctx.rules.retryBackoffMs, attempt);
          if (!ctx.drainSignal?.aborted) {
            await t.retryScheduled({ attempt: attempt + 1, delayMs });
            previousFailure = outcome.detail;
            if (await waitOutBackoff(ctx, t.id, delayMs)) continue;
          }
          await t.requeued({ attempt, branch: kept, error: outcome.reason });
          return { kind: 'requeued' };
        }
        if (!(await t.failed({ attempt, reason: outcome.reason, branch: kept }))) return { kind: 'cancelled' };
        return { kind: 'failed', reason: outcome.reason };
      }
      case 'blocked': {
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        // Not the task's fault: the attempt is given back.
        await t.blocked(outcome.reason, { attempt, branch: kept });
        return { kind: 'blocked', reason: outcome.reason };
      }
      case 'waiting': {
        // Not the task's fault and it will pass by itself: back to the queue with the attempt given back;
        // the scheduler claims it again once an executor it may use is back.
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        await t.waitingForExecutor({ attempt, reason: outcome.reason, branch: kept, until: outcome.until });
        return { kind: 'requeued' };
      }
      case 'interrupted': {
        const kept = await dropEmptyBranch(ctx.git, branch, baseCommit);
        // A hard budget stopped it (the daemon is not stopping): not the task's doing, the attempt is given back.
        const hard = !ctx.drainSignal?.aborted ? await ctx.budget?.hardStopReason() : undefined;
        if (hard) {
          await t.waitingForBudget({ attempt, reason: hard, branch: kept });
          return { kind: 'requeued' };
        }
        await t.requeued({ attempt, branch: kept, error: 'interrupted: the daemon stopped during the attempt' });
        return { kind: 'requeued' };
      }
      case 'lost': {
        if ((await dropEmptyBranch(ctx.git, branch, baseCommit)) === null) await file.clearDroppedBranch(branch);
        if (outcome.why === 'cancelled') {
          t.cancelNoticed();
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
