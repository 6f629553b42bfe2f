import type { FrontmatterFields } from './fields.js';
import type { BudgetRules, Rules } from './types.js';

/** The limits `budget:` may set, by their rules.md spelling, and what each one counts. */
export const BUDGET_LIMITS = {
  per_task_usd: 'usd',
  per_day_usd: 'usd',
  per_run_usd: 'usd',
  per_task_tokens: 'tokens',
  per_day_tokens: 'tokens',
} as const;
export type BudgetLimit = keyof typeof BUDGET_LIMITS;

const EXAMPLE = 'budget: { per_day_usd: 20, per_task_usd: 2, day_starts: "06:00" }';
const KNOWN = [...Object.keys(BUDGET_LIMITS), 'day_starts', 'hard'];

/** rules.md's `budget:` (every key optional): limits on spend, the day's start, and whether they stop running attempts. */
export function readBudget(fields: FrontmatterFields, rules: Rules): void {
  if (!fields.has('budget')) return;
  const { problems } = fields;
  const value = fields.fm.budget;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`budget must be a map, like ${EXAMPLE}`);
    return;
  }
  const spec = value as Record<string, unknown>;
  const budget: BudgetRules = { limits: {}, dayStartsMinutes: 0, hard: false };
  for (const key of Object.keys(spec)) {
    if (!KNOWN.includes(key)) problems.push(`budget: unknown key "${key}" (known: ${KNOWN.join(', ')})`);
  }
  for (const key of Object.keys(BUDGET_LIMITS) as BudgetLimit[]) {
    const v = spec[key];
    if (v === undefined || v === null) continue;
    const tokens = BUDGET_LIMITS[key] === 'tokens';
    if (typeof v === 'number' && Number.isFinite(v) && v > 0 && (!tokens || Number.isInteger(v))) budget.limits[key] = v;
    else
      problems.push(`budget.${key} must be a ${tokens ? 'whole number of tokens' : 'number of dollars'} above 0, got ${JSON.stringify(v)}`);
  }
  if (spec.day_starts !== undefined && spec.day_starts !== null) {
    const minutes = parseClock(spec.day_starts);
    if (minutes === undefined) {
      problems.push(`budget.day_starts must be a local time of day like "06:00", got ${JSON.stringify(spec.day_starts)}`);
    } else budget.dayStartsMinutes = minutes;
  }
  if (spec.hard !== undefined && spec.hard !== null) {
    if (typeof spec.hard === 'boolean') budget.hard = spec.hard;
    else problems.push(`budget.hard must be true or false, got ${JSON.stringify(spec.hard)}`);
  }
  rules.budget = budget;
}

/** "06:00" or "6:30" -> minutes after local midnight. */
function parseClock(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(value);
  if (!m) return undefined;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  return hours < 24 && minutes < 60 ? hours * 60 + minutes : undefined;
}
