import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TaskError, oneLine, toError } from '../errors.js';
import { buildPrompt } from '../exec/prompt.js';
import { planExecutor } from '../exec/executors.js';
import { spawnLogged, type SpawnOutcome, type SpawnRequest } from '../exec/spawn.js';
import {
  addWorktree,
  commitFromFile,
  openGit,
  pushBranch,
  removeWorktree,
  stageChangeSince,
  stagedChanges,
} from '../git/git.js';
import { formatDuration } from '../util/duration.js';
import { taskLogDir } from '../paths.js';
import type { Claim } from '../state/locks.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import { checkGuards } from './guards.js';
import { lastLine, logHeader, logSize, tailSince } from './output.js';

/** How often a running step re-reads its task file for a cancel. */
const CANCEL_POLL_MS = 2000;

export type AttemptOutcome =
  | { kind: 'success'; commit: string; pushed: boolean }
  /** The attempt failed; `detail` (reason plus output tail) goes into the next attempt's prompt. */
  | { kind: 'failure'; reason: string; detail: string; retry: boolean }
  /** The task cannot run as configured (executor missing): no attempt will help until someone acts. */
  | { kind: 'blocked'; reason: string }
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
}

/**
 * One attempt: worktree -> setup -> executor -> checks -> test -> commit -> push. nightshift, not the
 * executor, decides the outcome. The caller removes the worktree afterwards, whatever happened.
 */
export async function runAttempt(ctx: RunContext, input: AttemptInput): Promise<AttemptOutcome> {
  const { task, attempt, baseCommit, branch, worktree, claim } = input;
  const logDir = taskLogDir(ctx.paths, task.id);
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${attempt}.log`);
  const promptFile = join(logDir, `${attempt}.prompt.md`);
  const env = executorEnv(task, attempt, promptFile, worktree);

  await logHeader(logFile, `attempt ${attempt} of ${task.id}: worktree ${worktree} on ${branch} from ${baseCommit.slice(0, 12)}`);
  // A crash can leave the folder behind; git refuses to add a worktree over it.
  await removeWorktree(ctx.git, worktree);
  await addWorktree(ctx.git, worktree, branch, baseCommit);
  const wt = openGit(worktree, { identity: ctx.identity });

  // `cancel` (another process) marks the task cancelled, then signals the process group it finds in the
  // claim's owner file. A step that starts after cancel looked there would run to its end unnoticed, so each
  // step records its group first and then re-reads the task file, stopping itself if it was cancelled.
  const cancelled = new AbortController();
  const stepSignal = AbortSignal.any([ctx.stopSignal, cancelled.signal]);
  const runStep = async (req: Pick<SpawnRequest, 'argv' | 'timeoutMs' | 'stallTimeoutMs'>): Promise<SpawnOutcome | 'cancelled'> => {
    let recorded: Promise<void> = Promise.resolve();
    // Also look now and then: a cancel from another host, or an executor that ignores SIGTERM, is still
    // stopped (the abort escalates to SIGKILL).
    const watch = setInterval(() => {
      void input.stillOurs().then((ours) => {
        if (!ours) cancelled.abort();
      }, () => undefined);
    }, CANCEL_POLL_MS);
    const outcome = await spawnLogged({
      ...req,
      cwd: worktree,
      env,
      logFile,
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

  if (ctx.rules.setup) {
    const failed = await shellStep('setup', ctx.rules.setup, ctx.rules.timeoutMs);
    if (failed) return failed;
  }

  const prompt = buildPrompt({ task, attempt, rulesBody: ctx.rules.body, scopeBody: ctx.scopeBody, previousFailure: input.previousFailure });
  await writeFile(promptFile, prompt);
  const plan = planExecutor(task, ctx.rules, { taskId: task.id, attempt, promptFile, taskFile: task.file, worktree });
  if (plan.kind === 'unavailable') return { kind: 'blocked', reason: plan.reason };

  const execFrom = await logSize(logFile);
  await logHeader(logFile, `executor ${plan.name}`);
  const execOutcome = await runStep({ argv: plan.argv, timeoutMs: task.timeoutMs ?? ctx.rules.timeoutMs, stallTimeoutMs: ctx.rules.stallTimeoutMs });
  if (execOutcome === 'cancelled') return { kind: 'lost', why: 'cancelled' };
  if (execOutcome.kind === 'not-found') return { kind: 'blocked', reason: `executor ${plan.name}: ${execOutcome.message}` };
  const execFailed = await stepFailure(`executor ${plan.name}`, execOutcome, logFile, execFrom, ctx);
  if (execFailed) return execFailed;

  let paths: string[];
  try {
    paths = await stageChangeSince(wt, baseCommit);
  } catch (err) {
    if (err instanceof TaskError) return { kind: 'failure', reason: err.message, detail: err.message, retry: err.retry };
    throw err;
  }
  if (paths.length === 0) {
    const reason = 'no changes: the executor finished without changing any file';
    return { kind: 'failure', reason, detail: `${reason}. The task needs a change to the files in this directory.`, retry: true };
  }
  const violations = checkGuards(await stagedChanges(wt, baseCommit), { files: task.files, protect: ctx.rules.protect, tests: ctx.rules.tests });
  if (violations.length > 0) {
    const reason = `guard failed: ${violations.join('; ')}`;
    await logHeader(logFile, reason);
    return { kind: 'failure', reason: oneLine(reason), detail: `${reason}\nUndo those changes and stay within the rules.`, retry: true };
  }

  if (ctx.rules.test) {
    const failed = await shellStep('tests', ctx.rules.test, ctx.rules.testTimeoutMs);
    if (failed) return failed;
    await ctx.progress.append(task.id, 'tests-passed', { attempt });
  }

  // Fencing: only the owner of the claim may commit and publish (verify looks at the lock on disk now).
  if (!(await claim.verify())) return { kind: 'lost', why: 'claim' };
  if (!(await input.stillOurs())) return { kind: 'lost', why: 'cancelled' };

  const messageFile = join(logDir, `${attempt}.commit-msg`);
  await writeFile(messageFile, `${task.title}\n\nnightshift task ${task.id}, attempt ${attempt}.\n\nNightshift-Task: ${task.id}\n`);
  const commit = await commitFromFile(wt, messageFile);
  await ctx.progress.append(task.id, 'committed', { attempt, commit: commit.slice(0, 7), branch, files: paths.length });

  if (ctx.rules.push === 'branch') {
    if (!(await claim.verify())) return { kind: 'lost', why: 'claim' };
    try {
      await pushBranch(ctx.git, ctx.rules.remote, branch);
    } catch (err) {
      const reason = `push to ${ctx.rules.remote} failed: ${oneLine(toError(err).message, 200)}; the commit is on local branch ${branch}`;
      return { kind: 'failure', reason, detail: reason, retry: false };
    }
    await ctx.progress.append(task.id, 'pushed', { attempt, remote: ctx.rules.remote, branch, commit: commit.slice(0, 7) });
  }
  return { kind: 'success', commit, pushed: ctx.rules.push === 'branch' };
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
      reason = outcome.limit === 'stall'
        ? `${step} stalled: no output for ${formatDuration(outcome.afterMs)}, stopped`
        : `${step} timed out after ${formatDuration(outcome.afterMs)}, stopped`;
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

/** The executor's environment: the user's (agents need their credentials) plus where things are. */
function executorEnv(task: Task, attempt: number, promptFile: string, worktree: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NIGHTSHIFT_TASK_ID: task.id,
    NIGHTSHIFT_ATTEMPT: String(attempt),
    NIGHTSHIFT_PROMPT_FILE: promptFile,
    NIGHTSHIFT_TASK_FILE: task.file,
    NIGHTSHIFT_WORKTREE: worktree,
  };
}
