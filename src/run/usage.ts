import type { AgentUsage } from '../exec/agents/types.js';
import type { OwnedChanges } from '../task/task.js';
import type { AttemptReport } from './outcome.js';

/** Sums two usages; a figure nobody reported stays unknown rather than becoming 0. */
export function addUsage(a: AgentUsage, b: AgentUsage): AgentUsage {
  const sum = (x?: number, y?: number) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
  return { tokens: sum(a.tokens, b.tokens), costUsd: sum(a.costUsd, b.costUsd) };
}

/** What every executor of one attempt used, together. */
export function attemptUsage(report: AttemptReport): AgentUsage {
  return report.runs.reduce<AgentUsage>((total, run) => addUsage(total, run.usage), {});
}

/** The task-file keys (and progress fields) for a usage total. Cost rounded to micro-dollars: no float noise. */
export function usageFields(usage: AgentUsage): Pick<OwnedChanges, 'tokens' | 'cost_usd'> {
  const fields: Pick<OwnedChanges, 'tokens' | 'cost_usd'> = {};
  if (usage.tokens !== undefined) fields.tokens = Math.round(usage.tokens);
  if (usage.costUsd !== undefined) fields.cost_usd = Math.round(usage.costUsd * 1e6) / 1e6;
  return fields;
}
