import { executorKnown, unknownExecutorReason } from './executorRules.js';
import { NAME, type FrontmatterFields } from './fields.js';
import { defaultPlanRules, type PlanRules, type Rules } from './types.js';

const KEYS = ['planner', 'reviewer', 'min_confidence', 'max_spread', 'auto_queue'];
const EXAMPLE = 'plan: { planner: claude, reviewer: codex, min_confidence: 0.8, max_spread: 0.3, auto_queue: false }';

/** rules.md's `plan:` settings: who plans, who reviews the plan's tasks, and when a task is ready. */
export function readPlan(fields: FrontmatterFields, rules: Rules, problems: string[]): void {
  if (!fields.has('plan')) return;
  const value = fields.fm.plan;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`plan must be a map, like ${EXAMPLE}`);
    return;
  }
  const spec = value as Record<string, unknown>;
  const plan: PlanRules = defaultPlanRules();
  for (const key of Object.keys(spec)) {
    if (!KEYS.includes(key)) problems.push(`plan: unknown key "${key}" (known: ${KEYS.join(', ')})`);
  }
  for (const role of ['planner', 'reviewer'] as const) {
    const name = spec[role];
    if (name === undefined || name === null) continue;
    if (typeof name !== 'string' || !NAME.test(name)) problems.push(`plan.${role} must name an executor, like ${EXAMPLE}`);
    else if (name === 'shell') problems.push(`plan.${role}: the shell executor cannot plan or review; name an agent or a custom executor`);
    else if (!executorKnown(rules, name)) problems.push(`plan.${role}: ${unknownExecutorReason(name)}`);
    else plan[role] = name;
  }
  plan.minConfidence = fraction(spec, 'min_confidence', problems) ?? plan.minConfidence;
  plan.maxSpread = fraction(spec, 'max_spread', problems) ?? plan.maxSpread;
  if (spec.auto_queue !== undefined && spec.auto_queue !== null) {
    if (typeof spec.auto_queue === 'boolean') plan.autoQueue = spec.auto_queue;
    else problems.push(`plan.auto_queue must be true or false, got ${JSON.stringify(spec.auto_queue)}`);
  }
  rules.plan = plan;
}

function fraction(spec: Record<string, unknown>, key: string, problems: string[]): number | undefined {
  const v = spec[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  problems.push(`plan.${key} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
  return undefined;
}
