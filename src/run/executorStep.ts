import { oneLine, toError } from '../errors.js';
import { maskSecrets } from '../util/secrets.js';
import type { AgentExit, AgentUsage, AgentVerdict, InfraCause } from '../exec/agents/types.js';
import { commandVerdict } from '../exec/commandVerdict.js';
import { executorChain, planNamed, type ExecutorPlan } from '../exec/executors.js';
import type { SpawnOutcome } from '../exec/spawn.js';
import type { Git } from '../git/git.js';
import { resetAndClean } from '../git/reset.js';
import type { Task } from '../task/task.js';
import type { AttemptOutcome } from './attempt.js';
import type { RunContext } from './context.js';
import { logHeader, logSize, readSince, tailSince } from './output.js';

/** One executor run inside an attempt, as `daemon status` counts it. */
export interface ExecutorRun {
  executor: string;
  result: 'success' | 'task-failure' | 'infra-failure';
  usage: AgentUsage;
}

/** What the attempt learnt about its executors, filled in as they run (read by runTask afterwards). */
export interface AttemptReport {
  runs: ExecutorRun[];
}

export interface StepRequest {
  argv: [string, ...string[]];
  timeoutMs: number;
  stallTimeoutMs?: number;
  stdinFile?: string;
  env?: Record<string, string>;
  /** Where this step's output goes instead of the attempt's transcript (the reviewer's own file). */
  logFile?: string;
}

export interface ExecutorStepInput {
  task: Task;
  attempt: number;
  baseCommit: string;
  worktree: string;
  /** The worktree's git, to undo what a failed executor left before a fallback starts. */
  wt: Git;
  promptFile: string;
  /** The copy of the task file the executor is shown (run/attemptFiles.ts); the real one is the daemon's. */
  taskFile?: string;
  promptBytes: number;
  logFile: string;
  report: AttemptReport;
  run: (req: StepRequest) => Promise<SpawnOutcome | 'cancelled'>;
  /** The attempt's usual reading of a failed step (timeouts, stalls, signals). */
  stepFailure: (step: string, outcome: SpawnOutcome, from: number) => Promise<AttemptOutcome | undefined>;
}

/**
 * Runs the task's executor, falling back in rules.md's order while executors fail for reasons that are
 * not the task's (infra failures). Returns undefined when one finished its work (nightshift still checks
 * and tests it), else the attempt's outcome. An executor that could not run is parked for the whole
 * daemon, so later tasks skip it instead of failing on it one by one.
 */
export async function runExecutors(ctx: RunContext, input: ExecutorStepInput): Promise<AttemptOutcome | undefined> {
  const { task, attempt, logFile } = input;
  const chain = executorChain(task, ctx.rules);
  const exec = { taskId: task.id, attempt, promptFile: input.promptFile, taskFile: input.taskFile ?? task.file, worktree: input.worktree };
  if (chain.length === 0) {
    const plan = planNamed(undefined, task, ctx.rules, exec);
    return { kind: 'blocked', reason: plan.kind === 'unavailable' ? plan.reason : 'no executor' };
  }

  const failures: string[] = [];
  let ran = false;
  let unavailable = false;
  let previous: string | undefined;
  for (const name of chain) {
    const parked = ctx.health.parkedNow(name);
    const plan = parked ? undefined : planNamed(name, task, ctx.rules, exec);
    if (!plan || plan.kind === 'unavailable') {
      if (plan) unavailable = true;
      failures.push(plan ? plan.reason : `${name} is parked (${parked?.reason})`);
      previous = name;
      continue;
    }
    if (previous !== undefined) {
      await ctx.progress.append(task.id, 'fallback', { attempt, from: previous, to: name, reason: failures.at(-1) });
    }
    if (ran) {
      // What the failed executor left half-done is not the fallback's starting point.
      await resetAndClean(input.wt, input.baseCommit);
    }
    previous = name;
    ran = true;

    const result = await runOne(ctx, input, plan);
    if (result.kind !== 'verdict') return result.outcome;
    const { verdict, from } = result;
    const usage = verdict.usage ?? {};
    switch (verdict.kind) {
      case 'success':
        input.report.runs.push({ executor: name, result: 'success', usage });
        await logHeader(logFile, `executor ${name} finished${verdict.message ? `: ${oneLine(verdict.message, 200)}` : ''}`);
        return undefined;
      case 'task-failure': {
        input.report.runs.push({ executor: name, result: 'task-failure', usage });
        const reason = `executor ${name} failed: ${verdict.reason}`;
        await logHeader(logFile, reason);
        return { kind: 'failure', reason: oneLine(reason), detail: await failureDetail(reason, verdict.message, logFile, from), retry: true };
      }
      case 'infra-failure': {
        input.report.runs.push({ executor: name, result: 'infra-failure', usage });
        const reason = `${name} could not run (${verdict.cause}): ${oneLine(verdict.reason, 200)}`;
        await logHeader(logFile, `${reason}; no attempt used`);
        failures.push(reason);
        await parkExecutor(ctx, name, verdict, task.id);
        continue;
      }
      default: {
        const never: never = verdict;
        throw new Error(`unexpected verdict ${JSON.stringify(never)}`);
      }
    }
  }

  // Nothing started at all because of a config problem: the problem itself is the clearest reason.
  const reason = oneLine(ran || !unavailable ? `no executor could run, no attempt used: ${failures.join('; ')}` : failures.join('; '), 400);
  // Every executor of the task comes back by itself (usage limits with a reset time): wait for it in the
  // queue. So does a task whose executors were all parked before it started (another task parked them
  // while this one was being claimed): the scheduler holds it until one is back.
  const until = comesBackAt(ctx, chain);
  if (until || (!ran && !unavailable)) return { kind: 'waiting', reason, until };
  return { kind: 'blocked', reason };
}

/**
 * Parks an executor that could not run (for the whole daemon: later tasks skip it), announcing it once.
 * Returns when it comes back by itself, or undefined when it waits for a restart.
 */
export async function parkExecutor(ctx: RunContext, name: string, verdict: Extract<AgentVerdict, { kind: 'infra-failure' }>, taskId: string): Promise<Date | undefined> {
  const until = verdict.resetAt ?? coolOffEnd(verdict.cause);
  // The reason quotes CLI output; it goes to the status file and `daemon status` too.
  const parking = { executor: name, cause: verdict.cause, reason: maskSecrets(oneLine(verdict.reason, 200)), until };
  if (ctx.health.park(parking)) {
    ctx.logger.warn({ executor: name, cause: verdict.cause, until, task: taskId }, 'executor parked');
    await ctx.progress.append(undefined, 'executor-parked', {
      executor: name,
      cause: verdict.cause,
      until: until ? until.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'restart',
      task: taskId,
      reason: parking.reason,
    });
    ctx.events.emit('executor:parked', { executor: name, cause: verdict.cause, reason: parking.reason, until: until?.toISOString() });
  }
  return ctx.health.parkedNow(name)?.until;
}

/** How long an executor rests after a failure that usually passes by itself, when the CLI gave no reset time. */
export const COOL_OFF_MS: Partial<Record<InfraCause, number>> = {
  server: 10 * 60_000,
  network: 10 * 60_000,
  'rate-limit': 5 * 60_000,
  'usage-limit': 60 * 60_000,
};

/**
 * When a parked executor is tried again. An outage or a rate limit passes by itself: one 500 at 2 a.m.
 * must not park an agent for the rest of the night. Logged out, not installed or misconfigured needs a
 * person, so those stay parked until the daemon restarts (undefined).
 */
function coolOffEnd(cause: InfraCause, now = Date.now()): Date | undefined {
  const ms = COOL_OFF_MS[cause];
  return ms === undefined ? undefined : new Date(now + ms);
}

/**
 * How to start a planned executor on a prompt file: a command's argv, or the agent adapter's invocation.
 * Shared by task executors and the reviewer, so any executor can review.
 */
export function stepRequest(
  plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>,
  prompt: { promptFile: string; promptBytes: number; worktree: string },
  timeoutMs: number,
  stallTimeoutMs: number | undefined,
): StepRequest {
  const { promptFile } = prompt;
  if (plan.kind === 'run') {
    // Command executors may read the prompt on stdin too; the shell executor has no use for it.
    return { argv: plan.argv, timeoutMs, stallTimeoutMs, stdinFile: plan.name === 'shell' ? undefined : promptFile };
  }
  const inv = plan.adapter.invocation({ promptFile, promptBytes: prompt.promptBytes, worktree: prompt.worktree, options: plan.options });
  return { argv: inv.argv, timeoutMs, stallTimeoutMs, stdinFile: inv.stdin === 'prompt' ? promptFile : undefined, env: inv.env };
}

type RunResult = { kind: 'verdict'; verdict: AgentVerdict; from: number } | { kind: 'done'; outcome: AttemptOutcome };

/** Starts one executor and reads its result into a verdict (or an outcome that ends the attempt now). */
async function runOne(ctx: RunContext, input: ExecutorStepInput, plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>): Promise<RunResult> {
  const { logFile } = input;
  await logHeader(logFile, `executor ${plan.name}`);
  const from = await logSize(logFile);
  const request = stepRequest(plan, input, input.task.timeoutMs ?? ctx.rules.timeoutMs, ctx.rules.stallTimeoutMs);

  const outcome = await input.run(request);
  if (outcome === 'cancelled') return { kind: 'done', outcome: { kind: 'lost', why: 'cancelled' } };
  if (outcome.kind === 'aborted' || ctx.stopSignal.aborted) return { kind: 'done', outcome: { kind: 'interrupted' } };
  if (outcome.kind === 'not-found') {
    return { kind: 'verdict', from, verdict: { kind: 'infra-failure', cause: 'not-installed', reason: `${request.argv[0]} is not installed (not found on PATH)` } };
  }
  if (outcome.kind === 'timed-out' || (plan.kind === 'run' && outcome.kind === 'signalled')) {
    input.report.runs.push({ executor: plan.name, result: 'task-failure', usage: {} });
    const failed = await input.stepFailure(`executor ${plan.name}`, outcome, from);
    return { kind: 'done', outcome: failed ?? { kind: 'interrupted' } };
  }
  if (plan.kind === 'run') {
    const code = outcome.kind === 'exited' ? outcome.code : 1;
    const verdict = code === 0 ? ({ kind: 'success' } as const) : commandVerdict(await tailSince(logFile, from), code);
    if (verdict.kind !== 'task-failure') return { kind: 'verdict', from, verdict };
    // A command's plain failure reads as every other step's: exit code and its last line.
    input.report.runs.push({ executor: plan.name, result: 'task-failure', usage: {} });
    return { kind: 'done', outcome: (await input.stepFailure(`executor ${plan.name}`, outcome, from)) ?? { kind: 'interrupted' } };
  }

  const exit: AgentExit = outcome.kind === 'exited' ? { code: outcome.code } : { signal: outcome.signal };
  try {
    return { kind: 'verdict', from, verdict: plan.adapter.interpret(await readSince(logFile, from), exit) };
  } catch (err) {
    return { kind: 'verdict', from, verdict: { kind: 'task-failure', reason: `its output could not be read: ${oneLine(toError(err).message, 200)}` } };
  }
}

/** The reason, the agent's own last word when it gave one, and the tail of the transcript. */
async function failureDetail(reason: string, message: string | undefined, logFile: string, from: number): Promise<string> {
  const parts = [reason];
  if (message?.trim()) parts.push(`The agent's last message:\n\n${message.trim().slice(-4000)}`);
  else {
    const tail = await tailSince(logFile, from);
    if (tail) parts.push(`Last output:\n\`\`\`\n${tail}\n\`\`\``);
  }
  return parts.join('\n\n');
}

/** When every executor of the chain is parked with an end time: the earliest of them; else undefined. */
function comesBackAt(ctx: RunContext, chain: string[]): Date | undefined {
  let earliest: Date | undefined;
  for (const name of chain) {
    const until = ctx.health.parkedNow(name)?.until;
    if (!until) return undefined;
    if (!earliest || until < earliest) earliest = until;
  }
  return earliest;
}
