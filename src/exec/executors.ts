import { executorKnown, unknownExecutorReason, type Rules } from '../config/rules.js';
import type { Task } from '../task/task.js';
import { agentNamed } from './agents/index.js';
import { isAgentName } from './agents/names.js';
import type { AgentAdapter, AgentOptions } from './agents/types.js';

/** What an attempt needs to start an executor: values nightshift made, never raw task fields. */
export interface ExecutorContext {
  taskId: string;
  attempt: number;
  /** {prompt_file}: the per-attempt copy outside the checkout (the original stays under .nightshift/logs). */
  promptFile: string;
  /** {task_file}: a read-only copy of the task file; writing it changes nothing (run/attemptFiles.ts). */
  taskFile: string;
  worktree: string;
  /** {output_file}: where a planner or plan reviewer command writes its JSON answer. */
  outputFile?: string;
}

export type ExecutorPlan =
  /** A command (shell, or a template from rules.md): its exit code and output conventions decide. */
  | { kind: 'run'; name: string; argv: [string, ...string[]] }
  /** A built-in coding agent: its adapter builds the argv and reads the output. */
  | { kind: 'agent'; name: string; adapter: AgentAdapter; options: AgentOptions }
  | { kind: 'unavailable'; name: string; reason: string };

/** Which executor runs a task: the task's own choice, else the route for its kind, else the default. */
export function chooseExecutor(task: Task, rules: Rules): string | undefined {
  if (task.executor) return task.executor;
  if (task.kind && rules.routes[task.kind]) return rules.routes[task.kind];
  if (rules.executor) return rules.executor;
  return task.run !== undefined ? 'shell' : undefined;
}

const PLACEHOLDERS: Record<string, (ctx: ExecutorContext) => string> = {
  '{prompt_file}': (c) => c.promptFile,
  '{task_file}': (c) => c.taskFile,
  '{worktree}': (c) => c.worktree,
  '{task_id}': (c) => c.taskId,
  '{attempt}': (c) => String(c.attempt),
  '{output_file}': (c) => c.outputFile ?? '',
};

/**
 * Substitutes placeholders inside each template argument. Each argument stays exactly one argument: no
 * shell ever sees the result, so a path with spaces or quotes is just a path.
 */
export function expandTemplate(template: string[], ctx: ExecutorContext): string[] {
  return template.map((arg) => arg.replace(/\{[a-z_]+\}/g, (m) => (PLACEHOLDERS[m] ? PLACEHOLDERS[m](ctx) : m)));
}

/**
 * The executors an attempt may use, in order: the chosen one, then rules.md's fallback (tried only on an
 * infrastructure failure). Each appears once.
 */
export function executorChain(task: Task, rules: Rules): string[] {
  const chosen = chooseExecutor(task, rules);
  if (chosen === undefined) return [];
  return [...new Set([chosen, ...rules.fallback])];
}

export function planExecutor(task: Task, rules: Rules, ctx: ExecutorContext): ExecutorPlan {
  return planNamed(chooseExecutor(task, rules), task, rules, ctx);
}

/** How to run executor `name` for this task (the chosen one or a fallback). */
export function planNamed(name: string | undefined, task: Task, rules: Rules, ctx: ExecutorContext): ExecutorPlan {
  if (name === undefined) {
    return {
      kind: 'unavailable',
      name: '(none)',
      reason: 'no executor: set executor: in the task or in rules.md, or give the task a run: command for the shell executor',
    };
  }
  if (name === 'shell') {
    if (task.run === undefined || task.run.trim() === '') {
      return { kind: 'unavailable', name, reason: 'the shell executor needs a run: command in the task' };
    }
    // By design the one task field that reaches a shell: the user asked for a shell command.
    return { kind: 'run', name, argv: ['sh', '-c', task.run] };
  }
  const custom = Object.hasOwn(rules.executors, name) ? rules.executors[name] : undefined;
  if (!custom) {
    if (!executorKnown(rules, name)) return { kind: 'unavailable', name, reason: unknownExecutorReason(name) };
    const adapter = agentNamed(name);
    if (!adapter || !isAgentName(name)) {
      return {
        kind: 'unavailable',
        name,
        reason: `executor "${name}" is built in but has no adapter in this nightshift version; define it under executors: with a command`,
      };
    }
    return { kind: 'agent', name, adapter, options: rules.agents[name] ?? { args: [] } };
  }
  const [file, ...args] = expandTemplate(custom.command, ctx);
  return { kind: 'run', name, argv: [file as string, ...args] };
}
