import { oneLine } from '../errors.js';
import { fetchBase, isAncestor, moveRef, rebaseOnto, resolveCommit, setBranch } from '../git/git.js';
import { worktreesOnBranch } from '../git/worktrees.js';
import { pushCommit, pushWithLease } from '../git/publish.js';
import type { Claim } from '../locks/claims.js';
import { checkoutClean } from '../git/reset.js';
import { withLandLock } from '../locks/landLock.js';
import type { Task } from '../task/task.js';
import type { Git } from '../git/git.js';
import type { AttemptOutcome } from './outcome.js';
import type { RunContext } from './context.js';
import { logHeader } from './output.js';
import { isTaskCommit, recordVerified } from './verified.js';

/** Times base may move under a landing task (fetch, rebase, retest, lease refused) before it gives up. */
export const MAX_LAND_ROUNDS = 5;

/**
 * What publishing a checked commit needs (publish.ts calls it PublishInput; push: branch uses part of it).
 * Declared here, where every field is used, so that publish.ts imports land.ts and not the other way round.
 */
export interface LandInput {
  task: Task;
  attempt: number;
  /** nightshift/<id>, checked out in `wt`. */
  branch: string;
  /** The commit `commit` sits on (its only parent). */
  baseCommit: string;
  /** The commit nightshift made and checked: exactly this is pushed or landed, whatever the branch says now. */
  commit: string;
  /** The task's worktree: the rebase and the retest happen there, never in the user's checkout. */
  wt: Git;
  logFile: string;
  claim: Claim;
  stillOurs: () => Promise<boolean>;
  /** Runs rules.md's `test` again in the worktree (land mode, after a rebase): undefined when it passed. */
  retest?: () => Promise<AttemptOutcome | undefined>;
}

/** What became of the user's local base branch after a landing (the `local_base=` of the `landed` line). */
export type LocalBase = 'updated' | 'current' | 'checked-out' | 'diverged' | 'absent';

/**
 * push: land. Puts the task's commit on the remote's base: fetch base, rebase onto it (in the task's
 * worktree), retest when the rebase changed anything, then push with a lease on the value just fetched.
 * When someone landed in between, the lease refuses and we go round again (bounded). Tasks land one at a
 * time (withLandLock), so between nightshift's own tasks the lease only ever catches humans and other clones.
 */
export async function landCommit(ctx: RunContext, input: LandInput): Promise<AttemptOutcome> {
  const locked = await withLandLock(ctx.paths.locks, ctx.stopSignal, () => landLocked(ctx, input));
  return locked.kind === 'aborted' ? { kind: 'interrupted' } : locked.value;
}

async function landLocked(ctx: RunContext, input: LandInput): Promise<AttemptOutcome> {
  const { remote } = ctx.rules;
  const { base } = ctx;
  const { wt, branch, logFile } = input;
  const upstream = `${remote}/${base}`;
  // The commit that was checked, then each rebased and retested one: exactly this is landed, never
  // whatever the branch or the worktree's HEAD happen to name (the test command, a reviewer or a process
  // the executor left may have moved them).
  let head = input.commit;
  // Only the task's own commit moves: never commits that merely sat under it (a base since rewritten).
  let from = input.baseCommit;
  let rebased = false;
  // Kept on failure: the newest commit that passed the checks, on top of `from`.
  const unpublished = (reason: string, retry: boolean): AttemptOutcome => ({
    kind: 'unpublished',
    reason,
    commit: head,
    baseCommit: from,
    retry,
  });
  for (let round = 1; round <= MAX_LAND_ROUNDS; round++) {
    if (ctx.stopSignal.aborted) return { kind: 'interrupted' };
    const fetched = await fetchBase(wt, remote, base);
    if (fetched.kind === 'missing') {
      return unpublished(`cannot land: ${remote} has no branch ${base}; push it once (git push ${remote} ${base})`, false);
    }
    if (fetched.kind === 'failed') return unpublished(`cannot land: fetching ${upstream} failed: ${oneLine(fetched.message, 200)}`, true);
    const onto = fetched.commit;
    // Already on base: a push reported failed after the remote took it, or a kept commit that landed
    // before a crash. Landed; nothing to rebase or push.
    const already = await isAncestor(wt, head, onto);

    // Already on top of the newest base (nobody landed since the task started): nothing to rebase or retest.
    // Anything else, even a base rewound to an ancestor, means replaying the task's commits onto it.
    if (!already && onto !== from) {
      await logHeader(logFile, `land round ${round}: rebasing ${head.slice(0, 12)} onto ${upstream} ${onto.slice(0, 12)}`);
      // The commit is made: whatever the test run or the reviewer left in the worktree is litter, and git
      // refuses to rebase over unstaged or untracked files that would be overwritten. The branch is put
      // back on the checked commit: the rebase replays what HEAD holds.
      await checkoutClean(wt, branch, head);
      const result = await rebaseOnto(wt, onto, from);
      switch (result.kind) {
        case 'conflict':
          return conflictFailure(ctx, input, head, onto, result.paths);
        case 'failed': {
          const reason = `cannot land: rebasing onto ${upstream} failed: ${oneLine(result.message, 200)}`;
          await logHeader(logFile, reason);
          return { kind: 'failure', reason, detail: reason, retry: true };
        }
        case 'rebased':
          // Read back from the worktree: it must be the task's one commit on the new base, or something
          // else moved HEAD while the rebase ran.
          if (result.head !== onto && !(await isTaskCommit(wt, result.head, input.task.id, onto))) {
            const reason = `cannot land: after rebasing onto ${upstream}, HEAD is not the task's commit on ${onto.slice(0, 7)}; something moved it`;
            await logHeader(logFile, reason);
            return { kind: 'failure', reason, detail: reason, retry: true };
          }
          head = result.head;
          from = onto;
          rebased = true;
          break;
        default: {
          const never: never = result;
          throw new Error(`unexpected rebase result ${JSON.stringify(never)}`);
        }
      }
      if (head === onto) {
        const reason = `nothing to land: ${base} already has this change (the rebase onto ${upstream} left no commit)`;
        return { kind: 'failure', reason, detail: reason, retry: false };
      }
      if (input.retest) {
        const failed = await input.retest();
        if (failed?.kind === 'failure') {
          const reason = oneLine(`after rebasing onto ${upstream} ${onto.slice(0, 7)}: ${failed.reason}`);
          return { ...failed, reason, detail: `After rebasing onto the newest ${base}, ${failed.detail}` };
        }
        if (failed) return failed;
      }
    }

    // Fencing: a task whose claim was taken over, or which was cancelled, must never reach base.
    if (!(await input.claim.verify())) return { kind: 'lost', why: 'claim' };
    if (!(await input.stillOurs())) return { kind: 'lost', why: 'cancelled' };

    // Recorded before the push: recovery finalizes only this commit, once it is on the remote's base.
    await input.claim.recordCommit(head);
    await recordVerified(ctx.paths, input.task.id, { commit: head, baseCommit: from });
    // Remote queue: base, the task's done status and our claim's lease go in one atomic push (fencing).
    const fence = already ? undefined : await input.claim.fence?.({ attempt: input.attempt, branch, commit: head });
    const pushed = already ? { kind: 'pushed' as const } : await pushWithLease(wt, remote, base, head, onto, fence);
    switch (pushed.kind) {
      case 'stale':
        // Someone (a human, another clone) moved base after our fetch: fetch, rebase and retest again.
        await logHeader(logFile, `land round ${round}: ${upstream} moved since ${onto.slice(0, 12)} was fetched; trying again`);
        ctx.logger.info({ task: input.task.id, attempt: input.attempt, round }, 'base moved while landing; rebasing again');
        continue;
      case 'failed':
        return unpublished(`cannot land: pushing to ${upstream} failed: ${oneLine(pushed.message, 200)}`, true);
      case 'pushed':
        break;
      default: {
        const never: never = pushed;
        throw new Error(`unexpected push result ${JSON.stringify(never)}`);
      }
    }

    await logHeader(logFile, `landed ${head.slice(0, 12)} on ${upstream}${rebased ? ` (rebased${input.retest ? ', retested' : ''})` : ''}`);
    // The branch names the landed commit, here and on the remote (base already has it, so a failed push
    // of the branch loses nothing).
    await setBranch(wt, branch, head);
    await pushCommit(wt, remote, branch, head).catch((err: unknown) =>
      ctx.logger.warn({ task: input.task.id, err }, 'landed, but pushing the task branch failed'),
    );
    const local = await bringLocalBase(ctx, head);
    if (local === 'checked-out' || local === 'diverged') {
      ctx.logger.info({ task: input.task.id, base, local }, `local ${base} left as it is; git pull to bring it up to date`);
    }
    await ctx.progress.append(input.task.id, 'landed', {
      attempt: input.attempt,
      commit: head.slice(0, 7),
      base,
      rebased: rebased ? 'yes' : 'no',
      rounds: round,
      local_base: local,
    });
    return { kind: 'success', commit: head, pushed: true };
  }
  return unpublished(`cannot land: ${upstream} moved ${MAX_LAND_ROUNDS} times while this task was landing`, false);
}

/**
 * The local base follows the remote only when nobody can be surprised: it is not checked out in any
 * worktree (the user's checkout usually has it, and moving a checked-out branch would leave their index
 * and files describing the old commit) and the move is a fast-forward (their own unpushed commits stay).
 */
async function bringLocalBase(ctx: RunContext, landed: string): Promise<LocalBase> {
  const ref = `refs/heads/${ctx.base}`;
  const local = await resolveCommit(ctx.git, ref);
  if (!local) return 'absent';
  if (local === landed) return 'current';
  if ((await worktreesOnBranch(ctx.git, ctx.base)).length > 0) return 'checked-out';
  if (!(await isAncestor(ctx.git, local, landed))) return 'diverged';
  // update-ref with the old value: if the user committed meanwhile, the move is refused, not forced.
  return (await moveRef(ctx.git, ref, landed, local)) ? 'updated' : 'diverged';
}

/** Paths listed in the one-line reason; the prompt gets them all. */
const REASON_PATHS = 5;

/**
 * Base changed the same lines the task changed. The rebase was aborted; the attempt fails and the next
 * one starts from the new base (runTask re-fetches it), with the conflicting paths in its prompt. The
 * conflicting commit is kept on a branch of its own, since the retry resets nightshift/<id>.
 */
async function conflictFailure(ctx: RunContext, input: LandInput, head: string, onto: string, paths: string[]): Promise<AttemptOutcome> {
  const kept = `nightshift-conflict/${input.task.id}/attempt-${input.attempt}`;
  await setBranch(input.wt, kept, head);
  const upstream = `${ctx.rules.remote}/${ctx.base}`;
  const shown = paths.slice(0, REASON_PATHS).join(', ') + (paths.length > REASON_PATHS ? ` and ${paths.length - REASON_PATHS} more` : '');
  const reason = `land conflict: ${shown} changed on ${upstream} (now ${onto.slice(0, 7)}) since the attempt started; its commit is kept as branch ${kept}`;
  await logHeader(input.logFile, reason);
  const detail = [
    `${reason}.`,
    '',
    `While this task ran, ${ctx.base} changed the same lines. Conflicting paths:`,
    ...paths.map((p) => `- ${p}`),
    '',
    `This attempt starts from the new ${ctx.base}, which already has those changes: make the task's change on top of them.`,
    `The previous attempt's change is commit ${head.slice(0, 12)} (git show ${kept}).`,
  ].join('\n');
  return { kind: 'failure', reason: oneLine(reason), detail, retry: true };
}
