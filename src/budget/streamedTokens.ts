import type { ExecutorPlan } from '../exec/executors.js';
import { claudeTokens, commandTokens, TokenWatch } from './tokenWatch.js';

/**
 * A watch on the executor about to run, when the task has a token allowance and the executor streams its
 * usage in a way nightshift reads (command executors' usage lines, Claude Code's stream-json). Others are
 * held to per_task_tokens between attempts only.
 */
export function watchTokens(
  plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>,
  allowed: number | undefined,
  logFile: string,
  from: number,
): TokenWatch | undefined {
  if (allowed === undefined) return undefined;
  if (plan.kind === 'run') return new TokenWatch(logFile, from, allowed, commandTokens());
  if (plan.name === 'claude') return new TokenWatch(logFile, from, allowed, claudeTokens());
  return undefined;
}
