import { AGENT_NAMES, isAgentName } from '../exec/agents/names.js';
import type { AgentOptions } from '../exec/agents/types.js';
import { NAME, type FrontmatterFields } from './fields.js';
import type { Rules } from './types.js';

/** Which executor runs a task in rules.md: `executor`, `routes`, `fallback` and custom `executors`. */

export const BUILTIN_EXECUTORS = ['shell'] as const;

const BUILT_IN_LIST = `built in are ${[...BUILTIN_EXECUTORS, ...AGENT_NAMES].join(', ')}; define others under executors:`;

/** Whether rules.md allows `name` as an executor: built in, or defined under executors:. */
export function executorKnown(rules: Rules, name: string): boolean {
  return (BUILTIN_EXECUTORS as readonly string[]).includes(name) || isAgentName(name) || Object.hasOwn(rules.executors, name);
}

/** Why a name is not an executor rules.md allows, for task files that name one. */
export function unknownExecutorReason(name: string): string {
  return `executor "${name}" is not available: ${BUILT_IN_LIST}`;
}

/** `executor:` (the default) and `routes:` (task kind to executor). */
export function readExecutorChoice(fields: FrontmatterFields, rules: Rules): void {
  const { fm, problems } = fields;
  const executor = fields.text('executor');
  if (executor !== undefined) {
    if (NAME.test(executor)) rules.executor = executor;
    else problems.push(`executor: "${executor}" is not an executor name`);
  }
  if (fields.has('routes')) {
    const routes = fm.routes;
    if (typeof routes === 'object' && routes !== null && !Array.isArray(routes)) {
      for (const [kind, target] of Object.entries(routes)) {
        if (typeof target === 'string' && NAME.test(target)) rules.routes[kind] = target;
        else problems.push(`routes.${kind} must be an executor name`);
      }
    } else problems.push('routes must be a map of kind to executor, like routes: { code: codex }');
  }
}

/** `executors:`: custom commands, or settings for a built-in agent. */
export function readExecutors(fields: FrontmatterFields, rules: Rules): void {
  const { fm, problems } = fields;
  if (!fields.has('executors')) return;
  const executors = fm.executors;
  if (typeof executors !== 'object' || executors === null || Array.isArray(executors)) {
    problems.push('executors must be a map of name to { command: [...] }');
    return;
  }
  rules.executors = {};
  for (const [name, spec] of Object.entries(executors)) {
    const command = Array.isArray(spec) ? spec : (spec as { command?: unknown } | null)?.command;
    if (!NAME.test(name)) problems.push(`executors: "${name}" is not an executor name`);
    // A built-in agent's entry without a command holds its settings; with one, the user's command wins.
    else if (isAgentName(name) && command === undefined) {
      const options = agentOptions(name, spec, problems);
      if (options) rules.agents[name] = options;
    } else if ((BUILTIN_EXECUTORS as readonly string[]).includes(name)) {
      problems.push(`executors: "${name}" is built in and cannot be redefined`);
    } else if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string')) {
      rules.executors[name] = { command: command };
    } else {
      problems.push(`executors.${name} needs command: an argv list, like command: ["my-agent", "--prompt-file", "{prompt_file}"]`);
    }
  }
}

/** Every executor rules.md names (default, routes, fallback, reviewer) must be one it allows. */
export function checkExecutorsKnown(rules: Rules, problems: string[]): void {
  for (const name of [rules.executor, ...Object.values(rules.routes), ...rules.fallback, rules.review?.executor]) {
    if (name !== undefined && !executorKnown(rules, name)) problems.push(unknownExecutorReason(name));
  }
}

/** `executors: { claude: { model: opus, args: [--verbose] } }`: settings for a built-in agent. */
function agentOptions(name: string, spec: unknown, problems: string[]): AgentOptions | undefined {
  const where = `executors.${name}`;
  if (spec === null) return { args: [] };
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    problems.push(`${where} must be a map of settings, like ${name}: { model: ..., args: [...] }`);
    return undefined;
  }
  const options: AgentOptions = { args: [] };
  const before = problems.length;
  for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
    if (key === 'model') {
      // One argv element after --model: nothing reaches a shell, but an option-looking model would confuse the CLI.
      if (typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/.test(value)) options.model = value;
      else problems.push(`${where}.model must be a model name, like model: sonnet`);
    } else if (key === 'args') {
      if (Array.isArray(value) && value.every((a) => typeof a === 'string')) options.args = value;
      else problems.push(`${where}.args must be a list of arguments, like args: ["--verbose"]`);
    } else {
      problems.push(`${where}: unknown setting "${key}" (known: model, args; or command: to replace the built-in agent)`);
    }
  }
  return problems.length === before ? options : undefined;
}
