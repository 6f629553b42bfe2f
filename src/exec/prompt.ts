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
  sections.push(`# Task: ${parts.task.title}\n\n${parts.task.body.trim()}`);
  if (parts.previousFailure) {
    sections.push(`# The previous attempt failed\n\nFix this in your attempt:\n\n${parts.previousFailure.trim()}`);
  }
  return `${sections.join('\n\n')}\n`;
}
