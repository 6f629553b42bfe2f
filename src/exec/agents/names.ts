/**
 * The coding-agent CLIs nightshift drives itself. rules.md accepts these names without a command
 * template; the adapter for each lives in this folder and registers in index.ts.
 */
export const AGENT_NAMES = ['claude', 'codex', 'aider', 'gemini', 'opencode'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export function isAgentName(name: string): name is AgentName {
  return (AGENT_NAMES as readonly string[]).includes(name);
}
