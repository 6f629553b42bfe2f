import type { Task } from '../task/task.js';
import type { Skill } from './skills.js';

export interface PromptParts {
  task: Task;
  attempt: number;
  rulesBody: string;
  scopeBody: string;
  /** Why the previous attempt failed, with the tail of its output, for a retry. */
  previousFailure?: string;
  /** The task's skills, read from their SKILL.md files. */
  skills?: Skill[];
  /** What the agent may run: everything (inside the sandbox) or only these commands (rules.md's setup, test). */
  commands?: { sandboxed: boolean; allowedCommands: string[] };
}

const PREAMBLE = `You are an executor working for nightshift, unattended. Do only the task below, in this working
directory. Follow the rules. Do not ask questions: nobody is there to answer; when something is unclear,
choose the simplest reading that satisfies the acceptance criteria. Do not commit, push or switch
branches: nightshift checks, tests and commits your change. Leave unrelated files alone.`;

/** The full prompt an attempt's executor reads (from {prompt_file}). Pure. */
export function buildPrompt(parts: PromptParts): string {
  const sections = [`# nightshift task ${parts.task.id} (attempt ${parts.attempt})\n\n${PREAMBLE}`];
  if (parts.rulesBody.trim()) sections.push(`# Rules\n\n${parts.rulesBody.trim()}`);
  if (parts.scopeBody.trim()) sections.push(`# Project context\n\n${parts.scopeBody.trim()}`);
  for (const skill of parts.skills ?? []) sections.push(`# Skill: ${skill.name}\n\n${skill.body.trim()}`);
  if (parts.commands) sections.push(commandsSection(parts.commands));
  sections.push(`# Task: ${parts.task.title}\n\n${parts.task.body.trim()}`);
  if (parts.previousFailure) {
    sections.push(`# The previous attempt failed\n\nFix this in your attempt:\n\n${parts.previousFailure.trim()}`);
  }
  return `${sections.join('\n\n')}\n`;
}

/** Says which commands the agent can run, so it neither gives up on the tests nor tries what is refused. */
function commandsSection(c: { sandboxed: boolean; allowedCommands: string[] }): string {
  const list = c.allowedCommands.map((cmd) => `- \`${cmd}\``).join('\n');
  if (c.sandboxed) {
    const tests = list ? ` Run the project's commands to check your change:\n\n${list}` : '';
    return `# Commands\n\nYou run in a sandbox: you may run any command in this directory; files outside it are not reachable.${tests}`;
  }
  if (!list) return '# Commands\n\nShell commands are not allowed here: edit files only.';
  return `# Commands\n\nThe only shell commands you may run are these, exactly as written:\n\n${list}`;
}
