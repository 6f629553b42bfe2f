import { oneLine, toError } from '../errors.js';
import { resolveCommit, setBranch, type Git } from '../git/git.js';
import { pushCommit } from '../git/publish.js';
import type { AttemptOutcome } from './outcome.js';
import type { RunContext } from './context.js';
import { landCommit, type LandInput } from './land.js';
import { recordVerified } from './verified.js';

/** The commit to publish and who publishes it: see LandInput (land needs every field). */
export type PublishInput = LandInput;

/**
 * The step after the commit: push the checked commit (push: branch), land it (push: land), or nothing. A push
 * or fetch that fails is an `unpublished` outcome: the commit stays verified and the next attempt publishes
 * it without running the executor again.
 */
export async function publishCommit(ctx: RunContext, input: PublishInput): Promise<AttemptOutcome> {
  const mode = ctx.rules.push;
  switch (mode) {
    case 'none':
      return { kind: 'success', commit: input.commit, pushed: false };
    case 'branch':
      return pushChecked(ctx, input);
    case 'land':
      return landCommit(ctx, input);
    default: {
      const never: never = mode;
      throw new Error(`unexpected push mode ${JSON.stringify(never)}`);
    }
  }
}

/**
 * push: branch. Needs no worktree: a kept commit is pushed again straight from the repository. Fencing: only
 * the owner of the claim, of a task nobody cancelled, may publish (verify looks at the lock on disk now).
 */
export async function pushChecked(
  ctx: RunContext,
  input: Pick<PublishInput, 'task' | 'attempt' | 'branch' | 'baseCommit' | 'commit' | 'claim' | 'stillOurs'>,
): Promise<AttemptOutcome> {
  const { task, branch, commit } = input;
  if (!(await input.claim.verify())) return { kind: 'lost', why: 'claim' };
  if (!(await input.stillOurs())) return { kind: 'lost', why: 'cancelled' };
  await recordVerified(ctx.paths, task.id, { commit, baseCommit: input.baseCommit });
  await input.claim.recordCommit(commit);
  // Whatever moved the branch since the commit was checked, the task's branch names that commit again.
  await pinBranch(ctx.git, branch, commit);
  try {
    // Remote queue: the branch, the task's done status and our claim's lease go in one atomic push.
    const fence = await input.claim.fence?.({ attempt: input.attempt, branch, commit });
    await pushCommit(ctx.git, ctx.rules.remote, branch, commit, fence);
  } catch (err) {
    if (!input.claim.isHeld()) return { kind: 'lost', why: 'claim' };
    const reason = `push to ${ctx.rules.remote} failed: ${oneLine(toError(err).message, 200)}`;
    return { kind: 'unpublished', reason, commit, baseCommit: input.baseCommit, retry: true };
  }
  await ctx.progress.append(task.id, 'pushed', { attempt: input.attempt, remote: ctx.rules.remote, branch, commit: commit.slice(0, 7) });
  return { kind: 'success', commit, pushed: true };
}

/** Points nightshift/<id> at `commit` unless it already does. */
export async function pinBranch(git: Git, branch: string, commit: string): Promise<void> {
  if ((await resolveCommit(git, `refs/heads/${branch}`)) !== commit) await setBranch(git, branch, commit);
}
