import type { KeptCommit, TaskTransitions } from '../task/transitions.js';
import type { AttemptOutcome, TaskRunResult } from './outcome.js';
import { waitOutBackoff } from './backoff.js';
import type { RunContext } from './context.js';
import { pinBranch } from './publish.js';
import type { RemoteRetries } from './remoteRetry.js';
import { recordVerified } from './verified.js';

export interface UnpublishedInput {
  /** The run's transitions: the kept commit is written through them while the task is still ours. */
  transitions: TaskTransitions;
  attempt: number;
  branch: string;
  outcome: Extract<AttemptOutcome, { kind: 'unpublished' }>;
  retries: RemoteRetries;
}

/**
 * An attempt whose checked commit could not be published. The commit is kept where the next claim can
 * check it (its branch, the task file's commit: and base_commit:, nightshift's record). Not the task's
 * fault, so no attempt is spent: publishing is tried again after the usual backoff ('retry'), until the
 * remote retries are used up; then the task fails with the commit kept, and a requeue publishes it.
 */
export async function keepUnpublished(ctx: RunContext, input: UnpublishedInput): Promise<'retry' | TaskRunResult> {
  const { transitions: t, attempt, branch, outcome } = input;
  const kept: KeptCommit = { commit: outcome.commit, baseCommit: outcome.baseCommit };
  await pinBranch(ctx.git, branch, kept.commit);
  await recordVerified(ctx.paths, t.id, kept, true);
  await t.attemptFailed(attempt, outcome.reason);

  const delayMs = outcome.retry ? input.retries.next() : undefined;
  if (delayMs !== undefined && !ctx.drainSignal?.aborted) {
    if (!(await t.retryScheduled({ attempt, delayMs, publishing: { kept, branch, error: outcome.reason } }))) return { kind: 'cancelled' };
    if (await waitOutBackoff(ctx, t.id, delayMs)) return 'retry';
  }
  if (ctx.drainSignal?.aborted) {
    await t.requeued({ attempt, kept, branch, error: outcome.reason });
    return { kind: 'requeued' };
  }
  const reason = `${outcome.reason}; the verified commit is kept on ${branch}: requeue the task to publish it`;
  if (!(await t.failed({ attempt, reason, branch, kept }))) return { kind: 'cancelled' };
  return { kind: 'failed', reason };
}
