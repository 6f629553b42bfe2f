import { loadRules } from '../config/rules.js';
import type { BudgetRules } from '../config/types.js';
import type { Paths } from '../paths.js';
import { ledgerFile, SpendLedger, type SpendEntry } from './ledger.js';
import { budgetReason, dayWindow, formatSpend, queueFigures, reachedBudget, spentBetween, type BudgetFigure } from './spend.js';

/** What the CLI shows of the budget: spend today and against every limit, and what holds the queue. */
export interface BudgetView {
  /** Spend in the current budget day (from local midnight, or day_starts). */
  today: { since: string; usd: number; tokens: number };
  /** Spend against every day and run limit rules.md sets. */
  figures: BudgetFigure[];
  /** The per-task limits, for the reader (checked per task, not here). */
  perTask: { usd?: number; tokens?: number };
  /** Why queued tasks wait, when a day or run budget is reached. */
  reached?: string;
  entries: SpendEntry[];
}

/**
 * Reads the ledger and rules.md's budget as the daemon would. `runStartedAt`: the running daemon's start
 * (the per_run_usd window). A rules.md that does not parse reads as no budget: `doctor` and the daemon say why.
 */
export async function readBudgetView(paths: Paths, now = new Date(), runStartedAt?: Date): Promise<BudgetView> {
  const budget = await loadRules(paths.rules).then(
    (r) => r.budget,
    () => undefined,
  );
  const entries = await new SpendLedger(ledgerFile(paths.state)).entries();
  return budgetView(budget, entries, now, runStartedAt);
}

export function budgetView(budget: BudgetRules | undefined, entries: SpendEntry[], now: Date, runStartedAt?: Date): BudgetView {
  const since = dayWindow(now, budget?.dayStartsMinutes).start;
  const figures = queueFigures(budget, entries, now, runStartedAt);
  const hit = reachedBudget(figures);
  return {
    today: { since: since.toISOString(), ...spentBetween(entries, since) },
    figures,
    perTask: { usd: budget?.limits.per_task_usd, tokens: budget?.limits.per_task_tokens },
    reached: hit ? budgetReason(hit) : undefined,
    entries,
  };
}

/** When this checkout's daemon started (the per_run_usd window): the primary one's, else the first's. */
export function runStart(statuses: ReadonlyArray<{ primary: boolean; startedAt: string }>): Date | undefined {
  const d = statuses.find((s) => s.primary) ?? statuses[0];
  return d ? new Date(d.startedAt) : undefined;
}

/** `$3.20/$20.00 day`: each figure in a few characters, for `status --line` and `daemon status`. */
export function shortFigures(view: BudgetView): string[] {
  const name: Record<BudgetFigure['budget'], string> = { per_day_usd: 'day', per_day_tokens: 'day', per_run_usd: 'run' };
  return view.figures.map((f) =>
    f.unit === 'usd'
      ? `${formatSpend(f.spent, 'usd')}/${formatSpend(f.limit, 'usd')} ${name[f.budget]}`
      : `${compactTokens(f.spent)}/${compactTokens(f.limit)} tok ${name[f.budget]}`,
  );
}

/** 18342 -> 18k, 2500000 -> 2.5M. */
export function compactTokens(n: number): string {
  if (n >= 1e6) return `${Number((n / 1e6).toFixed(1))}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}k`;
  return String(Math.round(n));
}
