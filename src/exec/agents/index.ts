import { aider } from './aider.js';
import { claude } from './claude.js';
import { codex } from './codex.js';
import { gemini } from './gemini.js';
import { opencode } from './opencode.js';
import type { AgentAdapter } from './types.js';

/** The built-in coding-agent executors, by the name users write in rules.md and task files. */
export const AGENTS: Readonly<Record<string, AgentAdapter>> = {
  [aider.name]: aider,
  [claude.name]: claude,
  [codex.name]: codex,
  [gemini.name]: gemini,
  [opencode.name]: opencode,
};

export function agentNamed(name: string): AgentAdapter | undefined {
  return Object.hasOwn(AGENTS, name) ? AGENTS[name] : undefined;
}
