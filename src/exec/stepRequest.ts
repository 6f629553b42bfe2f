import type { AnswerSchema } from './agents/types.js';
import type { StepRole } from '../sandbox/env.js';
import type { ExecutorPlan } from './executors.js';

/** One process an attempt's step starts in the worktree: an executor, the reviewer, rules.md's setup or test. */
export interface StepRequest {
  argv: [string, ...string[]];
  timeoutMs: number;
  stallTimeoutMs?: number;
  stdinFile?: string;
  env?: Record<string, string>;
  /** Where this step's output goes instead of the attempt's transcript (the reviewer's own file). */
  logFile?: string;
  /**
   * Paths outside the worktree the step must be able to write (a planner's output file, say). The sandbox
   * binds these writable; nothing else outside the worktree is.
   */
  writable?: string[];
  /** The step only reads the worktree (planner, plan reviewer): the sandbox binds it read-only. */
  readOnlyWorktree?: boolean;
  /** Aborting stops this step (on top of the attempt's stop and cancel): a token budget running out. */
  signal?: AbortSignal;
  /** What the sandbox lets in: an agent keeps its network, API keys and home files; a check gets neither keys nor home. Default: command. */
  role?: StepRole;
}

/** What the agent may run, for its adapter: everything inside the sandbox, else only rules.md's commands. */
export interface AgentAccess {
  sandboxed?: boolean;
  allowedCommands?: string[];
}

/**
 * How to start a planned executor on a prompt file: a command's argv, or the agent adapter's invocation.
 * Shared by task executors and the reviewer, so any executor can review.
 */
export function stepRequest(
  plan: Exclude<ExecutorPlan, { kind: 'unavailable' }>,
  prompt: {
    promptFile: string;
    promptBytes: number;
    worktree: string;
    answerSchema?: AnswerSchema;
    readOnly?: boolean;
    maxBudgetUsd?: number;
  } & AgentAccess,
  timeoutMs: number,
  stallTimeoutMs: number | undefined,
): StepRequest {
  const { promptFile } = prompt;
  if (plan.kind === 'run') {
    // Command executors may read the prompt on stdin too; the shell executor has no use for it.
    const stdinFile = plan.name === 'shell' ? undefined : promptFile;
    return { argv: plan.argv, timeoutMs, stallTimeoutMs, stdinFile, role: { kind: 'command' } };
  }
  const { promptBytes, worktree, answerSchema, readOnly, maxBudgetUsd, sandboxed, allowedCommands } = prompt;
  const inv = plan.adapter.invocation({
    promptFile,
    promptBytes,
    worktree,
    options: plan.options,
    answerSchema,
    readOnly,
    maxBudgetUsd,
    sandboxed,
    allowedCommands,
  });
  const stdinFile = inv.stdin === 'prompt' ? promptFile : undefined;
  return { argv: inv.argv, timeoutMs, stallTimeoutMs, stdinFile, env: inv.env, role: { kind: 'agent', name: plan.adapter.name } };
}
