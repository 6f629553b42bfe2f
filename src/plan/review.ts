import type { PlanRules } from '../config/types.js';
import type { AgentUsage } from '../exec/agents/types.js';
import { askForAnswer } from './ask.js';
import { judgeReadiness, type Readiness } from './gate.js';
import { reviewerPrompt, type PlanContext } from './prompts.js';
import type { PlanAnswer, ReviewAnswer } from './schema.js';
import type { PlanStepInput } from './step.js';

export type Reviewed = { kind: 'ok'; verdicts: Map<string, Readiness> } | { kind: 'failed'; reason: string };

/**
 * The readiness gate: the reviewer reads each task of the plan on its own, without the planner's
 * confidence, and answers its own; both numbers decide. One task the reviewer cannot judge (it cannot run,
 * times out, never answers valid JSON) fails the plan: a verdict nobody gave is no verdict.
 */
export async function reviewPlan(
  plan: PlanAnswer,
  context: PlanContext,
  gate: Pick<PlanRules, 'minConfidence' | 'maxSpread'>,
  notAtomic: ReadonlyMap<string, string>,
  step: Omit<PlanStepInput, 'name' | 'prompt' | 'schema'>,
  spent: (step: string, usage: AgentUsage) => void,
): Promise<Reviewed> {
  const verdicts = new Map<string, Readiness>();
  const planned = plan.tasks.map((t) => ({ id: t.id, line: `${t.id}: ${t.title}` }));
  const existing = context.existing.map((e) => `${e.id} (${e.status}): ${e.title}`);
  // One at a time: the reviews share one checkout, and a step that ends stops every process still working
  // in its worktree (exec/processTracker.ts), which would be the other reviewers.
  for (const task of plan.tasks) {
    const others = [...planned.filter((p) => p.id !== task.id).map((p) => p.line), ...existing];
    const prompt = reviewerPrompt(task, context, others);
    const reviewed = await askForAnswer<ReviewAnswer>({ ...step, name: `review-${task.id}`, prompt, schema: 'plan-review' }, spent);
    if (reviewed.kind === 'failed') return { kind: 'failed', reason: `review of ${task.id}: ${reviewed.reason}` };
    verdicts.set(task.id, judgeReadiness(gate, task.confidence, reviewed.value, notAtomic.get(task.id)));
  }
  return { kind: 'ok', verdicts };
}
