import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rules } from '../config/types.js';
import { oneLine } from '../errors.js';
import { jsonLines } from '../exec/agents/read.js';
import type { AgentUsage, InfraCause } from '../exec/agents/types.js';
import { commandVerdict } from '../exec/commandVerdict.js';
import { executorEnv } from '../exec/executorEnv.js';
import { planNamed } from '../exec/executors.js';
import { stepRequest } from '../exec/stepRequest.js';
import { spawnBounded } from '../run/boundedStep.js';
import { AttemptDeadline } from '../run/deadline.js';
import { readSince, tailSince } from '../run/output.js';
import type { Task } from '../task/task.js';
import type { Sandbox } from '../sandbox/choose.js';
import { sandboxStep } from '../sandbox/wrap.js';
import { formatDuration } from '../util/duration.js';
import { maskSecrets } from '../util/secrets.js';
import { answerSchema, parseJsonText, type SchemaName } from './schema.js';

/** Only the end of an agent's output is searched for its answer. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export interface PlanStepInput {
  root: string;
  rules: Rules;
  /** The executor's name (rules.md's plan.planner / plan.reviewer, or a flag). */
  executor: string;
  /** File stem in the plan record: planner-1, review-002-login... */
  name: string;
  prompt: string;
  schema: SchemaName;
  /** The clean, read-only checkout of base the step works in. */
  worktree: string;
  /** The plan record's folder: prompt, transcript and answer files go there. */
  recordDir: string;
  timeoutMs: number;
  stallTimeoutMs?: number;
  /** Where the step runs, decided once per plan like the daemon's (absent: on the host). */
  sandbox?: Sandbox;
}

export type PlanStepResult =
  /** The step answered JSON (not yet checked against the schema). */
  | { kind: 'answer'; value: unknown; usage: AgentUsage }
  /** It ran but its answer is not JSON. */
  | { kind: 'no-json'; reason: string; usage: AgentUsage }
  /** It could not run at all (401, usage limit, not installed...): nobody's answer. */
  | { kind: 'infra'; cause: InfraCause; reason: string }
  /** It failed, timed out or was refused. */
  | { kind: 'failed'; reason: string; usage: AgentUsage };

/**
 * Runs a planner or plan reviewer through the executor step path every task executor takes (stepRequest,
 * spawnBounded, the agent adapters), read-only: built-in agents get no write tools and answer through
 * their structured-output flags; a command writes its JSON to {output_file}.
 */
export async function runPlanStep(input: PlanStepInput): Promise<PlanStepResult> {
  const promptFile = join(input.recordDir, `${input.name}.prompt.md`);
  const outputFile = join(input.recordDir, `${input.name}.answer.json`);
  const logFile = join(input.recordDir, `${input.name}.log`);
  const masked = maskSecrets(input.prompt);
  await writeFile(promptFile, masked);
  await rm(outputFile, { force: true });
  const exec = { taskId: input.name, attempt: 1, promptFile, taskFile: promptFile, worktree: input.worktree, outputFile };
  const plan = planNamed(input.executor, stepTask(input.name), input.rules, exec);
  if (plan.kind === 'unavailable') return { kind: 'failed', reason: plan.reason, usage: {} };

  const schema = await answerSchema(input.schema);
  const sandboxed = input.sandbox?.kind === 'bwrap';
  const promptBytes = Buffer.byteLength(masked);
  const place = { promptFile, promptBytes, worktree: input.worktree, answerSchema: schema, readOnly: true, sandboxed };
  const request = stepRequest(plan, place, input.timeoutMs, input.stallTimeoutMs);
  const places = { root: input.root, worktree: input.worktree, taskId: input.name, attempt: 1, promptFile, taskFile: promptFile };
  const base = executorEnv(process.env, places);
  const own = { ...request.env, NIGHTSHIFT_OUTPUT_FILE: outputFile, NIGHTSHIFT_PLAN_STEP: input.schema };
  // In the sandbox the checkout is bound read-only and only the record folder (the {output_file}) writable.
  const homeFrom = `${input.worktree}.${input.name}.home`;
  const boxed =
    input.sandbox?.kind === 'bwrap'
      ? await sandboxStep(
          input.sandbox,
          { argv: request.argv, base, own, role: request.role ?? { kind: 'command' }, writable: [input.recordDir], readOnlyWorktree: true },
          { root: input.root, worktree: input.worktree, readOnly: [], homeFrom },
        )
      : undefined;
  const outcome = await spawnBounded(new AttemptDeadline(input.timeoutMs), input.worktree, {
    ...request,
    argv: boxed?.argv ?? request.argv,
    groupEndsWithChild: boxed !== undefined,
    cwd: input.worktree,
    env: boxed?.env ?? { ...base, ...own },
    logFile,
  });
  await boxed?.finish();
  await rm(homeFrom, { recursive: true, force: true });
  const who = `${input.schema === 'plan' ? 'planner' : 'reviewer'} ${plan.name}`;

  if (outcome.kind === 'not-found') return { kind: 'infra', cause: 'not-installed', reason: `${who}: ${outcome.message}` };
  if (outcome.kind === 'timed-out') {
    const what =
      outcome.limit === 'stall'
        ? `stalled: no output for ${formatDuration(outcome.afterMs)}`
        : `timed out after ${formatDuration(outcome.afterMs)}`;
    return { kind: 'failed', reason: `${who} ${what}, stopped`, usage: {} };
  }
  if (outcome.kind === 'aborted') return { kind: 'failed', reason: `${who} was stopped`, usage: {} };
  const exit = outcome.kind === 'exited' ? { code: outcome.code } : { signal: outcome.signal };

  if (plan.kind === 'run') {
    const tail = await tailSince(logFile, 0);
    const code = exit.code ?? 128;
    const verdict = commandVerdict(tail, code);
    if (verdict.kind === 'infra-failure') return { kind: 'infra', cause: verdict.cause, reason: `${who}: ${verdict.reason}` };
    if (code !== 0)
      return { kind: 'failed', reason: `${who} exited ${exit.signal ? `on ${exit.signal}` : `with code ${code}`}`, usage: {} };
    const size = await stat(outputFile).then(
      (st) => st.size,
      () => undefined,
    );
    if (size === undefined) return { kind: 'no-json', reason: `${who} wrote nothing to {output_file}`, usage: {} };
    // A plan is kilobytes; a command that floods its answer file gets no chance to fill memory.
    if (size > MAX_OUTPUT_BYTES)
      return { kind: 'no-json', reason: `${who} wrote ${size} bytes to {output_file}, more than an answer can be`, usage: {} };
    const text = await readFile(outputFile, 'utf8');
    const parsed = parseJsonText(text);
    return 'value' in parsed ? { kind: 'answer', value: parsed.value, usage: {} } : { kind: 'no-json', reason: parsed.error, usage: {} };
  }

  const output = await readSince(logFile, 0, MAX_OUTPUT_BYTES);
  const verdict = plan.adapter.interpret(output, exit);
  const usage = verdict.usage ?? {};
  if (verdict.kind === 'infra-failure')
    return { kind: 'infra', cause: verdict.cause, reason: `${who} could not run (${verdict.cause}): ${oneLine(verdict.reason, 200)}` };
  if (verdict.kind === 'task-failure') return { kind: 'failed', reason: `${who} failed: ${oneLine(verdict.reason, 200)}`, usage };
  const structured = structuredOutput(output);
  if (structured !== undefined) return { kind: 'answer', value: structured, usage };
  const parsed = parseJsonText(verdict.message ?? '');
  return 'value' in parsed ? { kind: 'answer', value: parsed.value, usage } : { kind: 'no-json', reason: parsed.error, usage };
}

/** Claude Code's answer to --json-schema: the result line's `structured_output` (its StructuredOutput tool's input). */
function structuredOutput(output: string): unknown {
  const result = jsonLines(output).findLast((l) => l.type === 'result');
  return result?.structured_output ?? undefined;
}

/** planNamed needs a task; a planning step has none of its own (and the shell executor is refused earlier). */
function stepTask(name: string): Task {
  return { id: name, file: '', title: name, status: 'draft', priority: 0, dependsOn: [], attempts: 0, frontmatter: {}, body: '', text: '' };
}
