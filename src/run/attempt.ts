import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { oneLine } from '../errors.js';
import { buildPrompt } from '../exec/prompt.js';
import { loadSkills } from '../exec/skills.js';
import { openGit } from '../git/git.js';
import { taskLogDir } from '../paths.js';
import type { Claim } from '../locks/claims.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import { guardAndStage, guardRefs, withRefViolations } from './guardChange.js';
import { snapshotRefs } from '../git/inspect.js';
import { runExecutors } from './executorStep.js';
import type { AttemptOutcome, AttemptReport } from './outcome.js';
import { publishCommit } from './publish.js';
import type { Verified } from './verified.js';
import { reviewChange } from './review.js';
import { shouldReview } from './verdict.js';
import { maskSecrets } from '../util/secrets.js';
import { logHeader } from './output.js';
import { guardFailure } from './stepGuard.js';
import { watchAttempt } from './attemptWatch.js';
import { executorEnv } from '../exec/executorEnv.js';
import { prepareAttemptFiles } from './attemptFiles.js';
import { AttemptDeadline } from './deadline.js';
import { stepFailure } from './stepFailure.js';
import { AttemptSteps } from './stepRunner.js';
import { agentAccess } from '../sandbox/choose.js';

export interface AttemptInput {
  task: Task;
  attempt: number;
  baseCommit: string;
  branch: string;
  worktree: string;
  claim: Claim;
  previousFailure?: string;
  /** Re-reads the task file: the attempt checks it was not cancelled before committing. */
  stillOurs: () => Promise<boolean>;
  /** Filled in with the executors that ran and what they used. */
  report?: AttemptReport;
  /** A commit checked by an earlier attempt whose publishing failed: only publish it, nothing runs before. */
  publishOnly?: Verified;
  /** What the task may still spend (budget.per_task_usd), for agents that enforce it themselves. */
  maxBudgetUsd?: number;
  /** What the task may still use in tokens (budget.per_task_tokens): an executor streaming past it is stopped. */
  maxTokens?: number;
}

/**
 * One attempt: setup -> executor -> checks -> test -> commit -> push, in a worktree the caller leased
 * from the pool and gives back afterwards, whatever happened. nightshift, not the executor, decides the
 * outcome.
 */
export async function runAttempt(ctx: RunContext, input: AttemptInput): Promise<AttemptOutcome> {
  const { task, attempt, baseCommit, branch, worktree, claim } = input;
  const logDir = taskLogDir(ctx.paths, task.id);
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${attempt}.log`);
  const promptFile = join(logDir, `${attempt}.prompt.md`);
  // The executor sees copies outside the checkout; the originals stay the daemon's and the user's.
  const files = await prepareAttemptFiles(worktree, task.id, task.text);
  const shownPrompt = files.path(`${attempt}.prompt.md`);
  const env = executorEnv(process.env, {
    root: ctx.paths.root,
    worktree,
    taskId: task.id,
    attempt,
    promptFile: shownPrompt,
    taskFile: files.taskFile,
  });
  // `timeout` bounds the whole attempt: every step below gets what is left of it.
  const deadline = new AttemptDeadline(task.timeoutMs ?? ctx.rules.timeoutMs);

  await logHeader(logFile, `attempt ${attempt} of ${task.id}: worktree ${worktree} on ${branch} from ${baseCommit.slice(0, 12)}`);
  const wt = openGit(worktree, { identity: ctx.identity });

  const sandbox = ctx.sandbox && { sandbox: ctx.sandbox, root: ctx.paths.root };
  const steps = new AttemptSteps({
    worktree,
    env,
    logFile,
    deadline,
    claim,
    stillOurs: input.stillOurs,
    stopSignal: ctx.stopSignal,
    sandbox,
  });

  type Around = (step: () => Promise<AttemptOutcome | undefined>) => Promise<AttemptOutcome | undefined>;
  const publish = (commit: string, from: string, around: Around = (step) => step()) => {
    const test = ctx.rules.test;
    const retest = test ? () => around(() => steps.shell('tests', test, ctx.rules.testTimeoutMs)) : undefined;
    return publishCommit(ctx, { task, attempt, branch, baseCommit: from, commit, wt, logFile, claim, stillOurs: input.stillOurs, retest });
  };
  if (input.publishOnly) {
    const kept = input.publishOnly.commit.slice(0, 12);
    await logHeader(logFile, `publishing the commit checked earlier, ${kept}; the executor does not run again`);
    return publish(input.publishOnly.commit, input.publishOnly.baseCommit);
  }

  // Before setup: a missing skill blocks the task, and setup can take minutes.
  const skills = await loadSkills(task.skills ?? [], worktree);
  if (skills.kind === 'missing') return { kind: 'blocked', reason: skills.reason };

  if (ctx.rules.setup) {
    const failed = await steps.shell('setup', ctx.rules.setup, ctx.rules.timeoutMs);
    if (failed) return failed;
  }

  const prompt = buildPrompt({
    task,
    attempt,
    rulesBody: ctx.rules.body,
    scopeBody: ctx.scopeBody,
    previousFailure: input.previousFailure,
    skills: skills.skills,
    commands: agentAccess(ctx.sandbox, ctx.rules),
  });
  const masked = maskSecrets(prompt);
  await writeFile(promptFile, masked);
  await files.expose(`${attempt}.prompt.md`, masked);
  // The executor must not move base, other branches or tags: compared after it ran. Nor HEAD, the git
  // state shared with the user's checkout, rules.md, scope.md or the remote's base. Both read at once.
  const [refsBefore, watch] = await Promise.all([
    snapshotRefs(ctx.git),
    watchAttempt(ctx, { taskId: task.id, attempt, branch, baseCommit, worktree, wt }),
  ]);
  // Once the shared state is restored: a worktree whose .git now points elsewhere would aim every git
  // command below at another checkout. The ref guard runs whatever the executor's outcome: a base it moved
  // is put back even when the attempt fails anyway.
  const afterExecutor = async () => {
    const ours = await ctx.pool.owns(worktree);
    const found = await guardRefs({ repo: ctx.git, worktree: ours ? wt : undefined, base: ctx.base, baseCommit, refsBefore });
    return { ours, found };
  };
  const [execFailed, sharedChanges, { ours, found }] = await watch.executor(
    () =>
      runExecutors(ctx, {
        task,
        attempt,
        baseCommit,
        worktree,
        wt,
        promptFile: shownPrompt,
        taskFile: files.taskFile,
        promptBytes: Buffer.byteLength(masked),
        logFile,
        report: input.report ?? { runs: [] },
        steps,
        maxBudgetUsd: input.maxBudgetUsd,
        maxTokens: input.maxTokens,
      }),
    afterExecutor,
  );
  // The shared state's findings come first, as they always have.
  const refs = { ...found, violations: [...sharedChanges, ...found.violations] };
  if (execFailed) return withRefViolations(execFailed, refs.violations);
  if (!ours) return withRefViolations(notOurWorktree('the executor'), refs.violations);
  const headMoved = await watch.headAfterExecutor(refs.headRead);
  if (headMoved) return guardFailure([headMoved, ...refs.violations], logFile);

  const guarded = await guardAndStage({ worktree: wt, baseCommit, refs, rules: ctx.rules, task });
  if (guarded.kind === 'refused') return { kind: 'failure', reason: oneLine(guarded.reason), detail: guarded.reason, retry: guarded.retry };
  if (guarded.kind === 'empty') {
    const reason = 'no changes: the executor finished without changing any file';
    return { kind: 'failure', reason, detail: `${reason}. The task needs a change to the files in this directory.`, retry: true };
  }
  if (guarded.kind === 'violations') {
    const reason = `guard failed: ${guarded.violations.join('; ')}`;
    await logHeader(logFile, reason);
    return { kind: 'failure', reason: oneLine(reason), detail: `${reason}\nUndo those changes and stay within the rules.`, retry: true };
  }
  const paths = guarded.paths;

  if (ctx.rules.test) {
    const test = ctx.rules.test;
    const failed = await watch.shared.around('the test command', () => steps.shell('tests', test, ctx.rules.testTimeoutMs));
    if (failed) return failed;
    await ctx.progress.append(task.id, 'tests-passed', { attempt });
  }

  if (shouldReview(ctx.rules.review, task)) {
    // The reviewer is an agent too: held to the same ref guard as the executor.
    const refsBeforeReview = await snapshotRefs(ctx.git);
    const review = ctx.rules.review;
    const [reviewed, reviewerShared] = await watch.shared.run('the reviewer', () =>
      reviewChange({ ctx, review, task, attempt, baseCommit, worktree: wt, logDir, logFile, steps, files }),
    );
    if (reviewerShared.length > 0 && reviewed.kind !== 'cancelled') return guardFailure(reviewerShared, logFile);
    const reviewerGuard = await guardRefs({ repo: ctx.git, worktree: wt, base: ctx.base, baseCommit, refsBefore: refsBeforeReview });
    const reviewerRefs = reviewerGuard.violations;
    if (reviewerRefs.length > 0 && reviewed.kind !== 'cancelled') {
      const reason = `review: the reviewer changed refs, a reviewer must only answer: ${reviewerRefs.join('; ')}`;
      await logHeader(logFile, reason);
      return { kind: 'failure', reason: oneLine(reason), detail: reason, retry: true };
    }
    switch (reviewed.kind) {
      case 'approved':
        break;
      case 'rejected':
        return { kind: 'failure', reason: oneLine(reviewed.reason), detail: reviewed.detail, retry: true };
      case 'blocked':
        return { kind: 'blocked', reason: reviewed.reason };
      case 'waiting':
        return { kind: 'waiting', reason: reviewed.reason, until: reviewed.until };
      case 'cancelled':
        return { kind: 'lost', why: 'cancelled' };
      case 'step-failed': {
        // A gate never approves by default: a step that failed without a reading is an interruption.
        const failed = await stepFailure(reviewed.step, reviewed.outcome, { logFile, from: reviewed.from, stopSignal: ctx.stopSignal });
        return failed ?? { kind: 'interrupted' };
      }
      default: {
        const never: never = reviewed;
        throw new Error(`unexpected review result ${JSON.stringify(never)}`);
      }
    }
  }

  // Fencing: only the owner of the claim may commit and publish (verify looks at the lock on disk now).
  if (!(await claim.verify())) return { kind: 'lost', why: 'claim' };
  if (!(await input.stillOurs())) return { kind: 'lost', why: 'cancelled' };
  // The test command and the reviewer ran there too.
  if (!(await ctx.pool.owns(worktree))) return notOurWorktree('the test command or the reviewer');

  const messageFile = join(logDir, `${attempt}.commit-msg`);
  const message = `${task.title}\n\nnightshift task ${task.id}, attempt ${attempt}.\n\nNightshift-Task: ${task.id}\n`;
  await writeFile(messageFile, maskSecrets(message));
  // HEAD and the remote's base checked once more, then the checked tree committed on base_commit.
  const made = await watch.commit(guarded.tree, messageFile, logFile);
  if (made.kind === 'failed') return made.outcome;
  const commit = made.commit;
  await claim.recordCommit(commit);
  await ctx.progress.append(task.id, 'committed', { attempt, commit: commit.slice(0, 7), branch, files: paths.length });

  return publish(commit, baseCommit, (step) => watch.shared.around('the test command', step));
}

/** The failure when a worktree's .git no longer points into this repository: nothing more runs there. */
function notOurWorktree(who: string): AttemptOutcome {
  const reason =
    `guard failed: ${who} changed the worktree's .git file; ` +
    "nightshift runs no git command in a worktree that is not this repository's";
  return { kind: 'failure', reason, detail: `${reason}. Leave .git alone.`, retry: true };
}
