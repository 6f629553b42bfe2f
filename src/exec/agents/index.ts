import { claude } from './claude.js';
import { codex } from './codex.js';
import type { AgentAdapter } from './types.js';

/** The built-in coding-agent executors, by the name users write in rules.md and task files. */
export const AGENTS: Readonly<Record<string, AgentAdapter>> = {
  [claude.name]: claude,
  [codex.name]: codex,
};

export function agentNamed(name: string): AgentAdapter | undefined {
  return Object.hasOwn(AGENTS, name) ? AGENTS[name] : undefined;
}
