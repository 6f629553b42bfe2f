import { formatSpend } from '../budget/spend.js';
import type { BudgetView } from '../budget/view.js';

/** `daemon status`'s spend lines: today's spend, then each budget with what is spent of it (none without either). */
export function budgetLines(view: Omit<BudgetView, 'entries'>): string {
  const { today } = view;
  // Nothing spent and no budget set: nothing worth a line.
  const anyBudget = view.figures.length > 0 || view.perTask.usd !== undefined || view.perTask.tokens !== undefined;
  if (!anyBudget && today.usd === 0 && today.tokens === 0) return '';
  const tokens = today.tokens > 0 ? `, ${formatSpend(today.tokens, 'tokens')}` : '';
  const lines = [`spend today: ${formatSpend(today.usd, 'usd')}${tokens}\n`];
  const budgets = view.figures.map((f) => {
    const left = f.spent >= f.limit ? 'reached' : `${formatSpend(f.limit - f.spent, f.unit)} left`;
    return `  ${f.budget}  ${formatSpend(f.spent, f.unit)} of ${formatSpend(f.limit, f.unit)}  ${left}\n`;
  });
  if (view.perTask.usd !== undefined) budgets.push(`  per_task_usd  ${formatSpend(view.perTask.usd, 'usd')} per task\n`);
  if (view.perTask.tokens !== undefined) budgets.push(`  per_task_tokens  ${formatSpend(view.perTask.tokens, 'tokens')} per task\n`);
  if (budgets.length > 0) lines.push('budgets:\n', ...budgets);
  if (view.reached) lines.push(`queued tasks wait: ${view.reached}; raise it in rules.md or wait for the next budget day\n`);
  return lines.join('');
}
