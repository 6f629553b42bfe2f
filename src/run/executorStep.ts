import { oneLine, toError } from '../errors.js';
import { agentAccess } from '../sandbox/choose.js';
import { noteDenied } from './denied.js';
import type { AgentExit, AgentVerdict } from '../exec/agents/types.js';
import { commandVerdict } from '../exec/commandVerdict.js';
import { commandUsage } from '../exec/commandUsage.js';
import { watchTokens } from '../budget/streamedTokens.js';
import { executorChain, planNamed, type ExecutorPlan } from '../exec/executors.js';
import { parkExecutor } from '../exec/parking.js';
import { stepRequest } from '../exec/stepRequest.js';
import type { Git } from '../git/git.js';
import { resetAndClean } from '../git/reset.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import type { AttemptOutcome, AttemptReport, StepRunner } from './outcome.js';
import { logHeader, logSize, readSince, tailSince } from './output.js';
import { stepFailure } from './stepFailure.js';

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
  /** Starts the executor's process with the attempt's process group handling and cancel checks. */
  steps: StepRunner;
  /** What the task may still spend: handed to agents that enforce a budget themselves. */
  maxBudgetUsd?: number;
  /** What the task may still use in tokens: an executor whose streamed usage passes it is stopped. */
  maxTokens?: number;
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
        noteDenied(input.report, verdict.denied);
        input.report.runs.push({ executor: name, result: 'success', usage });
        await logHeader(logFile, `executor ${name} finished${verdict.message ? `: ${oneLine(verdict.message, 200)}` : ''}`);
        return undefined;
      case 'task-failure': {
        noteDenied(input.report, verdict.denied);
        input.report.runs.push({ executor: name, result: 'task-failure', usage });
        const reason = `executor ${name} failed: ${verdict.reason}`;
        await logHeader(logFile, reason);
        return {
          kind: 'failure',
          reason: oneLine(reason),
          detail: await failureDetail(reason, verdict.message, logFile, from),
          retry: true,
        };
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

type RunResult = { kind: 'verdict'; verdict: AgentVerdict; from: number } | { kind: 'done'; outcome: AttemptOutcome };

/** Starts one executor and reads its result into a verdict (or an outcome that ends the attempt now). */
async function runOne(ctx: RunContext, input: ExecutorStepInput, plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>): Promise<RunResult> {
  const { logFile } = input;
  await logHeader(logFile, `executor ${plan.name}`);
  const from = await logSize(logFile);
  const access = agentAccess(ctx.sandbox, ctx.rules);
  const request = stepRequest(plan, { ...input, ...access }, input.task.timeoutMs ?? ctx.rules.timeoutMs, ctx.rules.stallTimeoutMs);

  const tokens = watchTokens(plan, input.maxTokens, logFile, from);
  const outcome = await input.steps.run(tokens ? { ...request, signal: tokens.signal } : request);
  tokens?.stop();
  if (outcome === 'cancelled') return { kind: 'done', outcome: { kind: 'lost', why: 'cancelled' } };
  if (tokens?.reason && !ctx.stopSignal.aborted) {
    // Not the daemon stopping: the task's token budget ran out mid-run. What it used still counts.
    const usage = plan.kind === 'run' ? commandUsage(await readSince(logFile, from)) : { tokens: tokens.tokens };
    input.report.runs.push({ executor: plan.name, result: 'task-failure', usage });
    await logHeader(logFile, tokens.reason);
    return { kind: 'done', outcome: { kind: 'failure', reason: tokens.reason, detail: tokens.reason, retry: true } };
  }
  if (outcome.kind === 'aborted' || ctx.stopSignal.aborted) return { kind: 'done', outcome: { kind: 'interrupted' } };
  if (outcome.kind === 'not-found') {
    return {
      kind: 'verdict',
      from,
      verdict: { kind: 'infra-failure', cause: 'not-installed', reason: `${request.argv[0]} is not installed (not found on PATH)` },
    };
  }
  // A command reports what it spent on a `nightshift: usage` line (exec/commandUsage.ts), whatever its end.
  const commandSpend = plan.kind === 'run' ? commandUsage(await readSince(logFile, from)) : {};
  if (outcome.kind === 'timed-out' || (plan.kind === 'run' && outcome.kind === 'signalled')) {
    input.report.runs.push({ executor: plan.name, result: 'task-failure', usage: commandSpend });
    const failed = await stepFailure(`executor ${plan.name}`, outcome, { logFile, from, stopSignal: ctx.stopSignal });
    return { kind: 'done', outcome: failed ?? { kind: 'interrupted' } };
  }
  if (plan.kind === 'run') {
    const code = outcome.kind === 'exited' ? outcome.code : 1;
    const read = code === 0 ? ({ kind: 'success' } as const) : commandVerdict(await tailSince(logFile, from), code);
    const verdict = { ...read, usage: commandSpend };
    if (verdict.kind !== 'task-failure') return { kind: 'verdict', from, verdict };
    // A command's plain failure reads as every other step's: exit code and its last line.
    input.report.runs.push({ executor: plan.name, result: 'task-failure', usage: commandSpend });
    const failed = await stepFailure(`executor ${plan.name}`, outcome, { logFile, from, stopSignal: ctx.stopSignal });
    return { kind: 'done', outcome: failed ?? { kind: 'interrupted' } };
  }

  const exit: AgentExit = outcome.kind === 'exited' ? { code: outcome.code } : { signal: outcome.signal };
  try {
    return { kind: 'verdict', from, verdict: plan.adapter.interpret(await readSince(logFile, from), exit) };
  } catch (err) {
    return {
      kind: 'verdict',
      from,
      verdict: { kind: 'task-failure', reason: `its output could not be read: ${oneLine(toError(err).message, 200)}` },
    };
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
