import type { AgentUsage } from '../exec/agents/types.js';
import { commandUsage } from '../exec/commandUsage.js';
import type { ExecutorPlan } from '../exec/executors.js';
import type { SpawnOutcome } from '../exec/spawn.js';
import type { RunContext } from '../run/context.js';
import type { Task } from '../task/task.js';

/**
 * What the review gate's reviewer spent, recorded in the ledger whatever its verdict: it counts against
 * the day and run budgets (the task's own cost_usd stays what its executors spent). Keyed by the attempt
 * and where the reviewer's section starts in the attempt's transcript, so it counts once.
 */
export async function recordReviewerSpend(
  ctx: RunContext,
  at: { task: Task; attempt: number; logOffset: number },
  plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>,
  output: string,
  outcome: SpawnOutcome | 'cancelled',
): Promise<void> {
  if (!ctx.budget) return;
  const used = reviewerUsage(plan, output, outcome);
  const { task, attempt } = at;
  await ctx.budget.record({
    key: `review:${task.id}:${task.startedAt ?? '-'}:${attempt}@${at.logOffset}`,
    at: new Date().toISOString(),
    source: 'reviewer',
    task: task.id,
    attempt,
    executor: plan.name,
    costUsd: used.costUsd,
    tokens: used.tokens,
  });
}

function reviewerUsage(
  plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>,
  output: string,
  outcome: SpawnOutcome | 'cancelled',
): AgentUsage {
  if (plan.kind === 'run') return commandUsage(output);
  const exit =
    outcome !== 'cancelled' && outcome.kind === 'signalled'
      ? { signal: outcome.signal }
      : { code: outcome !== 'cancelled' && outcome.kind === 'exited' ? outcome.code : 1 };
  try {
    return plan.adapter.interpret(output, exit).usage ?? {};
  } catch {
    return {};
  }
}
