import { join } from 'node:path';
import { taskLogDir } from '../paths.js';
import type { RunContext } from '../run/context.js';
import type { AttemptReport } from '../run/outcome.js';
import { logSize } from '../run/output.js';
import { attemptUsage } from '../run/usage.js';
import type { Task } from '../task/task.js';
import { budgetReason } from './spend.js';

/**
 * The budget around one attempt of a task run: the check before it starts, and the ledger entry for what
 * it spent. The entry's key names the attempt by the run's claim time, its number and where its section
 * starts in the attempt's transcript, which recovery can find again after a crash (recoverSpend.ts):
 * whichever records first, the attempt counts once.
 */

export type AttemptBudget =
  /** Go ahead; an agent that can enforce it itself is given what the task may still spend. */
  | { kind: 'go'; remainingUsd?: number; remainingTokens?: number }
  /** A day or run budget is reached: back to the queue, the attempt given back. */
  | { kind: 'wait'; reason: string }
  /** The task spent its own budget: it fails with this reason. */
  | { kind: 'over'; reason: string };

export async function budgetBeforeAttempt(ctx: RunContext, task: Task): Promise<AttemptBudget> {
  if (!ctx.budget) return { kind: 'go' };
  const reached = await ctx.budget.reached();
  if (reached) return { kind: 'wait', reason: budgetReason(reached) };
  const allowance = await ctx.budget.allowance({ costUsd: task.costUsd, tokens: task.tokens });
  if (allowance.over !== undefined) return { kind: 'over', reason: allowance.over };
  return { kind: 'go', remainingUsd: allowance.remainingUsd, remainingTokens: allowance.remainingTokens };
}

/** The transcript an attempt writes (run/attempt.ts). */
export function attemptLogFile(ctx: RunContext, taskId: string, attempt: number): string {
  return join(taskLogDir(ctx.paths, taskId), `${attempt}.log`);
}

/** The ledger key of the attempt about to start: taken before it writes its first transcript line. */
export async function attemptSpendKey(ctx: RunContext, task: Task, attempt: number): Promise<string> {
  return spendKey(task.id, task.startedAt, attempt, await logSize(attemptLogFile(ctx, task.id, attempt)));
}

export function spendKey(id: string, startedAt: string | undefined, attempt: number, logOffset: number): string {
  return `attempt:${id}:${startedAt ?? '-'}:${attempt}@${logOffset}`;
}

/** Records what the attempt's executors reported (nothing when they reported nothing). */
export async function recordAttemptSpend(
  ctx: RunContext,
  at: { key: string; task: string; attempt: number },
  report: AttemptReport,
): Promise<void> {
  if (!ctx.budget) return;
  const used = attemptUsage(report);
  const executor = [...new Set(report.runs.map((r) => r.executor))].join('+') || undefined;
  await ctx.budget.record({
    ...at,
    at: new Date().toISOString(),
    source: 'executor',
    executor,
    costUsd: used.costUsd,
    tokens: used.tokens,
  });
}
