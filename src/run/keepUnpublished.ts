import { utcStamp } from '../state/progress.js';
import type { OwnedChanges } from '../task/task.js';
import { formatDuration } from '../util/duration.js';
import type { AttemptOutcome, TaskRunResult } from './outcome.js';
import { waitUnlessAborted } from './backoff.js';
import type { RunContext } from './context.js';
import { pinBranch } from './publish.js';
import type { RemoteRetries } from './remoteRetry.js';
import { recordVerified } from './verified.js';

export interface UnpublishedInput {
  id: string;
  attempt: number;
  branch: string;
  outcome: Extract<AttemptOutcome, { kind: 'unpublished' }>;
  retries: RemoteRetries;
  /** Writes the task file if the task is still ours; false when it is not. */
  write: (changes: OwnedChanges) => Promise<boolean>;
}

/**
 * An attempt whose checked commit could not be published. The commit is kept where the next claim can
 * check it (its branch, the task file's commit: and base_commit:, nightshift's record). Not the task's
 * fault, so no attempt is spent: publishing is tried again after the usual backoff ('retry'), until the
 * remote retries are used up; then the task fails with the commit kept, and a requeue publishes it.
 */
export async function keepUnpublished(ctx: RunContext, input: UnpublishedInput): Promise<'retry' | TaskRunResult> {
  const { id, attempt, branch, outcome, write } = input;
  const kept = { commit: outcome.commit, baseCommit: outcome.baseCommit };
  await pinBranch(ctx.git, branch, kept.commit);
  await recordVerified(ctx.paths, id, kept, true);
  const keep = { commit: kept.commit, base_commit: kept.baseCommit, branch };
  await ctx.progress.append(id, 'attempt-failed', { attempt, reason: outcome.reason });
  ctx.events.emit('task:attempt-failed', { id, attempt, reason: outcome.reason });

  const delayMs = outcome.retry ? input.retries.next() : undefined;
  if (delayMs !== undefined && !ctx.drainSignal?.aborted) {
    if (!(await write({ ...keep, error: outcome.reason }))) return { kind: 'cancelled' };
    await ctx.progress.append(id, 'retry-scheduled', { attempt, in: formatDuration(delayMs), publish_only: 'yes' });
    if (await waitUnlessAborted(delayMs, ctx.drainSignal)) return 'retry';
  }
  if (ctx.drainSignal?.aborted) {
    await write({ ...keep, status: 'queued', claimed_by: null, error: outcome.reason });
    await ctx.progress.append(id, 'requeued', { attempt, reason: 'daemon stopping' });
    ctx.events.emit('task:requeued', { id, reason: 'daemon stopping' });
    return { kind: 'requeued' };
  }
  const reason = `${outcome.reason}; the verified commit is kept on ${branch}: requeue the task to publish it`;
  if (!(await write({ ...keep, status: 'failed', error: reason, finished_at: utcStamp(), claimed_by: null }))) return { kind: 'cancelled' };
  await ctx.progress.append(id, 'failed', { attempts: attempt, reason });
  ctx.events.emit('task:failed', { id, attempt, reason });
  return { kind: 'failed', reason };
}
