import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { oneLine } from '../errors.js';
import { buildPrompt } from '../exec/prompt.js';
import { loadSkills } from '../exec/skills.js';
import { type SpawnOutcome, type SpawnRequest } from '../exec/spawn.js';
import { openGit } from '../git/git.js';
import { formatDuration } from '../util/duration.js';
import { taskLogDir } from '../paths.js';
import type { Claim } from '../state/locks.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import { guardAndStage, guardRefs, withRefViolations } from './guardChange.js';
import { snapshotRefs } from '../git/inspect.js';
import { runExecutors, type AttemptReport } from './executorStep.js';
import { publishCommit } from './publish.js';
import type { Verified } from './verified.js';
import { reviewChange } from './review.js';
import { shouldReview } from './verdict.js';
import { maskSecrets } from '../util/secrets.js';
import { lastLine, logHeader, logSize, tailSince } from './output.js';
import { guardFailure } from './stepGuard.js';
import { watchAttempt } from './attemptWatch.js';
import { executorEnv } from '../exec/executorEnv.js';
import { prepareAttemptFiles } from './attemptFiles.js';
import { spawnBounded } from './boundedStep.js';
import { AttemptDeadline } from './deadline.js';

/** How often a running step re-reads its task file for a cancel. */
const CANCEL_POLL_MS = 2000;

export type AttemptOutcome =
  | { kind: 'success'; commit: string; pushed: boolean }
  /** The attempt failed; `detail` (reason plus output tail) goes into the next attempt's prompt. */
  | { kind: 'failure'; reason: string; detail: string; retry: boolean }
  /**
   * The checked commit was made, but pushing or landing it failed (remote unreachable, push refused, base
   * kept moving). Not the task's fault: the commit is kept (on `baseCommit`), and publishing it again needs
   * no executor. `retry` false: another try now would fail the same way.
   */
  | { kind: 'unpublished'; reason: string; commit: string; baseCommit: string; retry: boolean }
  /** The task cannot run as configured (executor missing): no attempt will help until someone acts. */
  | { kind: 'blocked'; reason: string }
  /**
   * Every executor the task may use is parked, until a known time (usage limit) or, when `until` is
   * absent, until the daemon restarts: back to the queue, no attempt used.
   */
  | { kind: 'waiting'; reason: string; until?: Date }
  /** The daemon is stopping: the task goes back to the queue. */
  | { kind: 'interrupted' }
  /** Someone else owns the task now (cancelled, lock taken over): stop quietly. */
  | { kind: 'lost'; why: 'cancelled' | 'claim' };

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
  const env = executorEnv(process.env, { root: ctx.paths.root, worktree, taskId: task.id, attempt, promptFile: shownPrompt, taskFile: files.taskFile });
  // `timeout` bounds the whole attempt: every step below gets what is left of it.
  const deadline = new AttemptDeadline(task.timeoutMs ?? ctx.rules.timeoutMs);

  await logHeader(logFile, `attempt ${attempt} of ${task.id}: worktree ${worktree} on ${branch} from ${baseCommit.slice(0, 12)}`);
  const wt = openGit(worktree, { identity: ctx.identity });

  // `cancel` (another process) marks the task cancelled, then signals the process group it finds in the
  // claim's owner file. A step that starts after cancel looked there would run to its end unnoticed, so each
  // step records its group first and then re-reads the task file, stopping itself if it was cancelled.
  const cancelled = new AbortController();
  const stepSignal = AbortSignal.any([ctx.stopSignal, cancelled.signal]);
  const runStep = async (
    req: Pick<SpawnRequest, 'argv' | 'timeoutMs' | 'stallTimeoutMs' | 'stdinFile'> & { env?: Record<string, string>; logFile?: string },
  ): Promise<SpawnOutcome | 'cancelled'> => {
    let recorded: Promise<void> = Promise.resolve();
    // Also look now and then: a cancel from another host, or an executor that ignores SIGTERM, is still
    // stopped (the abort escalates to SIGKILL).
    const watch = setInterval(() => {
      void input.stillOurs().then((ours) => {
        if (!ours) cancelled.abort();
      }, () => undefined);
    }, CANCEL_POLL_MS);
    const outcome = await spawnBounded(deadline, worktree, {
      ...req,
      cwd: worktree,
      env: req.env ? { ...env, ...req.env } : env,
      logFile: req.logFile ?? logFile,
      signal: stepSignal,
      onStart: (pgid) => {
        recorded = claim
          .setExecutorGroup(pgid)
          .then(() => input.stillOurs())
          .then((ours) => {
            if (!ours) cancelled.abort();
          })
          .catch(() => undefined);
      },
    });
    clearInterval(watch);
    // Cleared only after the group was written, or a late write could leave a dead group for cancel to signal.
    await recorded;
    await claim.setExecutorGroup(undefined).catch(() => undefined);
    return (await input.stillOurs()) ? outcome : 'cancelled';
  };

  /** rules.md's setup and test commands: the user's own shell commands, run in the worktree. */
  const shellStep = async (step: 'setup' | 'tests', command: string, timeoutMs: number): Promise<AttemptOutcome | undefined> => {
    const from = await logSize(logFile);
    await logHeader(logFile, `${step}: ${command}`);
    const outcome = await runStep({ argv: ['sh', '-c', command], timeoutMs });
    if (outcome === 'cancelled') return { kind: 'lost', why: 'cancelled' };
    return stepFailure(step, outcome, logFile, from, ctx);
  };

  type Around = (step: () => Promise<AttemptOutcome | undefined>) => Promise<AttemptOutcome | undefined>;
  const publish = (commit: string, from: string, around: Around = (step) => step()) => {
    const test = ctx.rules.test;
    const retest = test ? () => around(() => shellStep('tests', test, ctx.rules.testTimeoutMs)) : undefined;
    return publishCommit(ctx, { task, attempt, branch, baseCommit: from, commit, wt, logFile, claim, stillOurs: input.stillOurs, retest });
  };
  if (input.publishOnly) {
    await logHeader(logFile, `publishing the commit checked earlier, ${input.publishOnly.commit.slice(0, 12)}; the executor does not run again`);
    return publish(input.publishOnly.commit, input.publishOnly.baseCommit);
  }

  // Before setup: a missing skill blocks the task, and setup can take minutes.
  const skills = await loadSkills(task.skills ?? [], worktree);
  if (skills.kind === 'missing') return { kind: 'blocked', reason: skills.reason };

  if (ctx.rules.setup) {
    const failed = await shellStep('setup', ctx.rules.setup, ctx.rules.timeoutMs);
    if (failed) return failed;
  }

  const prompt = buildPrompt({ task, attempt, rulesBody: ctx.rules.body, scopeBody: ctx.scopeBody, previousFailure: input.previousFailure, skills: skills.skills });
  const masked = maskSecrets(prompt);
  await writeFile(promptFile, masked);
  await files.expose(`${attempt}.prompt.md`, masked);
  // The executor must not move base, other branches or tags: compared after it ran.
  const refsBefore = await snapshotRefs(ctx.git);
  // Nor HEAD, the git state shared with the user's checkout, rules.md, scope.md or the remote's base.
  const watch = await watchAttempt(ctx, { taskId: task.id, attempt, branch, baseCommit, worktree, wt });
  const [execFailed, sharedChanges] = await watch.executor(() => runExecutors(ctx, {
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
    run: runStep,
    stepFailure: (step, outcome, from) => stepFailure(step, outcome, logFile, from, ctx),
  }));
  // A worktree whose .git now points elsewhere would aim every git command below at another checkout.
  const ours = await ctx.pool.owns(worktree);
  // Checked whatever the executor's outcome: a base it moved is put back even when the attempt fails anyway.
  const refs = await guardRefs({ repo: ctx.git, worktree: ours ? wt : undefined, base: ctx.base, baseCommit, refsBefore, earlier: sharedChanges });
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
    const failed = await watch.shared.around('the test command', () => shellStep('tests', ctx.rules.test as string, ctx.rules.testTimeoutMs));
    if (failed) return failed;
    await ctx.progress.append(task.id, 'tests-passed', { attempt });
  }

  if (shouldReview(ctx.rules.review, task)) {
    // The reviewer is an agent too: held to the same ref guard as the executor.
    const refsBeforeReview = await snapshotRefs(ctx.git);
    const review = ctx.rules.review;
    const [reviewed, reviewerShared] = await watch.shared.run('the reviewer', () => reviewChange({ ctx, review, task, attempt, baseCommit, worktree: wt, logDir, logFile, runStep, files }));
    if (reviewerShared.length > 0 && reviewed.kind !== 'cancelled') return guardFailure(reviewerShared, logFile);
    const reviewerRefs = (await guardRefs({ repo: ctx.git, worktree: wt, base: ctx.base, baseCommit, refsBefore: refsBeforeReview })).violations;
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
        const failed = await stepFailure(reviewed.step, reviewed.outcome, logFile, reviewed.from, ctx);
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
  await writeFile(messageFile, maskSecrets(`${task.title}\n\nnightshift task ${task.id}, attempt ${attempt}.\n\nNightshift-Task: ${task.id}\n`));
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
  const reason = `guard failed: ${who} changed the worktree's .git file; nightshift runs no git command in a worktree that is not this repository's`;
  return { kind: 'failure', reason, detail: `${reason}. Leave .git alone.`, retry: true };
}

/** Turns a step's process outcome into an attempt failure, or undefined when the step succeeded. */
async function stepFailure(step: string, outcome: SpawnOutcome, logFile: string, from: number, ctx: RunContext): Promise<AttemptOutcome | undefined> {
  if (outcome.kind === 'exited' && outcome.code === 0) return undefined;
  if (outcome.kind === 'aborted' || ctx.stopSignal.aborted) return { kind: 'interrupted' };
  const tail = await tailSince(logFile, from);
  const last = lastLine(tail);
  let reason: string;
  switch (outcome.kind) {
    case 'exited':
      reason = `${step} failed (exit ${outcome.code})${last ? `: ${last}` : ''}`;
      break;
    case 'signalled':
      reason = `${step} was killed by ${outcome.signal}${last ? `: ${last}` : ''}`;
      break;
    case 'timed-out':
      reason = AttemptDeadline.over(outcome)?.reason(step) ?? (outcome.limit === 'stall'
        ? `${step} stalled: no output for ${formatDuration(outcome.afterMs)}, stopped`
        : `${step} timed out after ${formatDuration(outcome.afterMs)}, stopped`);
      break;
    case 'not-found':
      reason = `${step}: ${outcome.message}`;
      break;
    default: {
      const never: never = outcome;
      throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
    }
  }
  await logHeader(logFile, reason);
  const detail = tail ? `${reason}\n\nLast output:\n\`\`\`\n${tail}\n\`\`\`` : reason;
  return { kind: 'failure', reason: oneLine(reason), detail, retry: true };
}
