import type { BudgetRules } from '../config/types.js';
import type { SpendEntry } from './ledger.js';

/** A day or run limit: what the daemon checks before each claim and each attempt. */
export type QueueBudget = 'per_day_usd' | 'per_day_tokens' | 'per_run_usd';

export interface BudgetFigure {
  budget: QueueBudget;
  spent: number;
  limit: number;
  unit: 'usd' | 'tokens';
}

/** One budget day: from the day's start (local midnight, or `day_starts`) to the next. */
export interface DayWindow {
  start: Date;
  end: Date;
}

/**
 * The budget day `now` falls in. Local time: a day starting at 06:00 runs from 06:00 today (or yesterday,
 * before 06:00) to 06:00 the next day, whatever daylight saving does to the hours in between.
 */
export function dayWindow(now: Date, dayStartsMinutes = 0): DayWindow {
  const at = (dayOffset: number) =>
    new Date(now.getFullYear(), now.getMonth(), now.getDate() + dayOffset, Math.floor(dayStartsMinutes / 60), dayStartsMinutes % 60);
  const today = at(0);
  return today.getTime() <= now.getTime() ? { start: today, end: at(1) } : { start: at(-1), end: today };
}

/** Sums of entries counted at or after `since` (and before `until`). */
export function spentBetween(entries: readonly SpendEntry[], since: Date, until?: Date): { usd: number; tokens: number } {
  let usd = 0;
  let tokens = 0;
  const from = since.getTime();
  const to = until?.getTime() ?? Infinity;
  for (const e of entries) {
    const t = Date.parse(e.at);
    if (t < from || t >= to) continue;
    usd += e.costUsd ?? 0;
    tokens += e.tokens ?? 0;
  }
  return { usd: roundUsd(usd), tokens };
}

/** Micro-dollars: sums of floats stay comparable with the limits users write. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

/**
 * Spend against every day and run limit rules.md sets, in a fixed order. `runStartedAt`: when this daemon
 * started (absent outside a daemon: no run figure).
 */
export function queueFigures(
  budget: BudgetRules | undefined,
  entries: readonly SpendEntry[],
  now: Date,
  runStartedAt?: Date,
): BudgetFigure[] {
  if (!budget) return [];
  const { limits } = budget;
  const figures: BudgetFigure[] = [];
  const day = spentBetween(entries, dayWindow(now, budget.dayStartsMinutes).start);
  if (limits.per_day_usd !== undefined) figures.push({ budget: 'per_day_usd', spent: day.usd, limit: limits.per_day_usd, unit: 'usd' });
  if (limits.per_day_tokens !== undefined) {
    figures.push({ budget: 'per_day_tokens', spent: day.tokens, limit: limits.per_day_tokens, unit: 'tokens' });
  }
  if (limits.per_run_usd !== undefined && runStartedAt) {
    figures.push({ budget: 'per_run_usd', spent: spentBetween(entries, runStartedAt).usd, limit: limits.per_run_usd, unit: 'usd' });
  }
  return figures;
}

/** The first day or run limit reached (spent at or over it): nothing more is claimed while there is one. */
export function reachedBudget(figures: readonly BudgetFigure[]): BudgetFigure | undefined {
  return figures.find((f) => f.spent >= f.limit);
}

/** A task's own limits: what it may still spend, and the reason it fails once it spent it all. */
export function taskAllowance(
  budget: BudgetRules | undefined,
  spent: { costUsd?: number; tokens?: number },
): { remainingUsd?: number; remainingTokens?: number; over?: string } {
  const limits = budget?.limits ?? {};
  const usd = spent.costUsd ?? 0;
  const tokens = spent.tokens ?? 0;
  if (limits.per_task_usd !== undefined && usd >= limits.per_task_usd) {
    return {
      remainingUsd: 0,
      over: `budget: per_task_usd reached (${formatSpend(usd, 'usd')} of ${formatSpend(limits.per_task_usd, 'usd')})`,
    };
  }
  if (limits.per_task_tokens !== undefined && tokens >= limits.per_task_tokens) {
    return {
      over: `budget: per_task_tokens reached (${formatSpend(tokens, 'tokens')} of ${formatSpend(limits.per_task_tokens, 'tokens')})`,
    };
  }
  return {
    remainingUsd: limits.per_task_usd === undefined ? undefined : roundUsd(limits.per_task_usd - usd),
    remainingTokens: limits.per_task_tokens === undefined ? undefined : limits.per_task_tokens - tokens,
  };
}

/** `$1.25`, `18,342 tokens`: how spend is shown to people. */
export function formatSpend(value: number, unit: 'usd' | 'tokens'): string {
  return unit === 'usd' ? `$${value.toFixed(2)}` : `${Math.round(value).toLocaleString('en-US')} tokens`;
}

/** The one-line reason tasks wait: `budget per_day_usd reached ($20.40 of $20.00)`. */
export function budgetReason(f: BudgetFigure): string {
  return `budget ${f.budget} reached (${formatSpend(f.spent, f.unit)} of ${formatSpend(f.limit, f.unit)})`;
}
