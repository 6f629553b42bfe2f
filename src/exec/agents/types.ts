/**
 * The seam between nightshift and a coding-agent CLI. An adapter is pure: it builds the argv for one
 * attempt and reads the CLI's own output back into one verdict. Spawning, timeouts, logs and git stay
 * in the attempt; an adapter never runs anything itself (except doctor's version probe, via `probe`).
 */

/** What an agent reported it used; either may be missing when the CLI does not say. */
export interface AgentUsage {
  tokens?: number;
  costUsd?: number;
}

/** Why an agent could not run at all. None of these is the task's fault: no attempt is consumed. */
export type InfraCause = 'auth' | 'rate-limit' | 'usage-limit' | 'not-installed' | 'network' | 'server' | 'other';

export type AgentVerdict =
  /** The agent says it finished. nightshift still decides (guards, tests). */
  | { kind: 'success'; usage?: AgentUsage; message?: string; denied?: string[] }
  /** The agent ran and failed the task: retry with feedback. */
  | { kind: 'task-failure'; reason: string; usage?: AgentUsage; message?: string; denied?: string[] }
  /** The agent could not do any work: fall back or fail closed, never burn the task's attempts. */
  | { kind: 'infra-failure'; cause: InfraCause; reason: string; resetAt?: Date; usage?: AgentUsage };

export interface AgentInvocation {
  /** Program and arguments; never a shell string. */
  argv: [string, ...string[]];
  /** What the child reads on stdin: the prompt file's content, or nothing (/dev/null). */
  stdin: 'prompt' | 'none';
  /** Extra environment for the child, on top of the executor environment. No secrets from task data. */
  env?: Record<string, string>;
}

export interface AgentInput {
  /** Absolute path of the saved prompt (also readable by the agent). */
  promptFile: string;
  /** Byte length of the prompt: long prompts must go through stdin or a file, not argv (128 KiB cap). */
  promptBytes: number;
  worktree: string;
  /** Settings for this agent from rules.md `executors.<name>` (model, extra args), already validated. */
  options: AgentOptions;
  /** The answer must be one JSON document following this schema (a planner's plan, a readiness verdict). */
  answerSchema?: AnswerSchema;
  /** The step only reads (planner, plan reviewer): the agent gets no tool that writes. */
  readOnly?: boolean;
  /** What the task may still spend in dollars (budget.per_task_usd), for an agent that enforces it itself. */
  maxBudgetUsd?: number;
  /** The agent runs inside nightshift's sandbox: it may run anything there (permissions bypassed). */
  sandboxed?: boolean;
  /** rules.md's setup and test commands: without the sandbox, the only shell commands it is allowed. */
  allowedCommands?: string[];
}

/** A JSON Schema for a step's structured answer: its file (for CLIs that read one) and its text. */
export interface AnswerSchema {
  file: string;
  json: string;
}

export interface AgentOptions {
  model?: string;
  /** Extra arguments appended after nightshift's own, from rules.md. */
  args: string[];
}

/** How the attempt's process ended, for the adapter to weigh alongside the output. */
export interface AgentExit {
  code?: number;
  signal?: string;
}

export interface AgentAdapter {
  /** The executor name users write: claude, codex, aider, gemini, opencode. */
  readonly name: string;
  /** The program looked up on PATH. */
  readonly program: string;
  /** Arguments of a cheap, no-network probe for `doctor` (e.g. ['--version']). */
  readonly versionArgs: string[];
  /** How to install it, for doctor's "not found" line (e.g. "npm i -g @google/gemini-cli"). */
  readonly installHint?: string;
  invocation(input: AgentInput): AgentInvocation;
  /** Reads the attempt's transcript (this executor's part of the log) and exit into one verdict. */
  interpret(output: string, exit: AgentExit): AgentVerdict;
}
