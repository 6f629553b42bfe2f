import type { AgentUsage } from '../exec/agents/types.js';
import { retryPrompt } from './prompts.js';
import { checkAnswer } from './schema.js';
import { runPlanStep, type PlanStepInput } from './step.js';

export type Asked<T> = { kind: 'ok'; value: T } | { kind: 'failed'; reason: string };

/**
 * Runs a planning step until it gives an answer that follows its schema: once, and once more with the
 * errors when the first answer is not JSON or not valid. A step that could not run (401, usage limit) or
 * failed is not asked again. `spent` hears each run's usage, whatever came of it.
 */
export async function askForAnswer<T>(input: PlanStepInput, spent: (step: string, usage: AgentUsage) => void): Promise<Asked<T>> {
  const role = input.schema === 'plan' ? 'planner' : 'reviewer';
  let prompt = input.prompt;
  let errors: string[] = [];
  for (const attempt of [1, 2]) {
    const name = attempt === 1 ? input.name : `${input.name}-retry`;
    const result = await runPlanStep({ ...input, name, prompt });
    if (result.kind !== 'infra') spent(name, result.usage);
    switch (result.kind) {
      case 'infra':
        return { kind: 'failed', reason: `${result.reason}` };
      case 'failed':
        return { kind: 'failed', reason: result.reason };
      case 'no-json':
        errors = [result.reason];
        break;
      case 'answer': {
        const checked = await checkAnswer<T>(input.schema, result.value);
        if (checked.kind === 'ok') return checked;
        errors = checked.errors;
        break;
      }
      default: {
        const never: never = result;
        throw new Error(`unknown step result ${JSON.stringify(never)}`);
      }
    }
    prompt = retryPrompt(input.prompt, errors);
  }
  const list = errors.map((e) => `\n  - ${e}`).join('');
  return { kind: 'failed', reason: `the ${role} ${input.executor} did not answer valid JSON after 2 tries:${list}` };
}
