import { BODY_SECTIONS, type PlannedTask } from './schema.js';

/** What the planner is told besides the goal: the project as nightshift knows it. Pure inputs, no fs. */
export interface PlanContext {
  goal: string;
  /** --from files: name and content. */
  inputs: Array<{ name: string; text: string }>;
  scopeBody: string;
  rulesBody: string;
  /** rules.md's route kinds (kind -> executor), so tasks can be routed. */
  kinds: string[];
  existing: Array<{ id: string; title: string; status: string }>;
  baseCommit: string;
}

const PLANNER_PREAMBLE = `You are the planner for nightshift, a queue that hands each task to a coding agent working alone in a
fresh checkout of the repository, unattended, for one session of 15 to 60 minutes. Turn the goal below
into such tasks. Read the code first (you may only read: nothing you write is kept). Plans that are wrong
about the code are the main failure: check every file, function and command you name.

Each task must be self-contained: a competent stranger who has only the task and the repository must be
able to build it. Keep each task atomic: at most 60 minutes and about 10 files. Use depends_on for order,
on tasks of this plan or on the existing tasks listed below (depend on them instead of repeating them).
Ids are new file names: lowercase letters, digits, '.', '_' and '-', numbered after the existing tasks.
Give each task your confidence, from 0 to 1, that it is ready to build as written. Put what only a person
can decide in questions.`;

const FORMAT = `# Your answer

Answer with one JSON document and nothing else, following nightshift's plan schema (docs/plan.schema.json):
{ "tasks": [ { "id", "title", "kind", "depends_on", "files", "skills", "estimated_minutes", "confidence",
"body": { ${BODY_SECTIONS.map((s) => `"${s}"`).join(', ')} } } ], "questions": [] }.
Every body section is markdown and must not be empty ("out_of_scope" may say "Nothing else."). "files"
lists paths or globs the change may touch; each glob must match files that exist, new files are plain paths.
If you run as a command with an {output_file}, write the JSON document to that file.`;

/** The planner's prompt. Pure. */
export function plannerPrompt(c: PlanContext): string {
  const parts = [`# nightshift plan\n\n${PLANNER_PREAMBLE}`, `# Goal\n\n${c.goal.trim()}`];
  for (const input of c.inputs) parts.push(`# Input: ${input.name}\n\n${input.text.trim()}`);
  if (c.scopeBody.trim()) parts.push(`# Project context (scope.md)\n\n${c.scopeBody.trim()}`);
  if (c.rulesBody.trim()) parts.push(`# Rules every executor follows (rules.md)\n\n${c.rulesBody.trim()}`);
  parts.push(`# Task kinds\n\n${c.kinds.length > 0 ? c.kinds.join(', ') : '(no routes: use null)'}`);
  const existing = c.existing.map((t) => `- ${t.id} (${t.status}): ${t.title}`).join('\n');
  parts.push(`# Existing tasks\n\n${existing || '(none)'}`);
  parts.push(`# Base commit\n\nThe plan is written against commit ${c.baseCommit}, checked out in your working directory.`);
  parts.push(FORMAT);
  return `${parts.join('\n\n')}\n`;
}

/** The planner asked again, once, with what was wrong with its answer. */
export function retryPrompt(first: string, errors: string[]): string {
  const list = errors.map((e) => `- ${e}`).join('\n');
  return `${first}\n# Your previous answer was refused\n\nIt did not follow the schema:\n\n${list}\n\nAnswer again with one valid JSON document.\n`;
}

const REVIEWER_PREAMBLE = `You review one task that a planner wrote for nightshift, before any code is written. A coding agent
will build it alone, unattended, in a fresh checkout of this repository, from the spec below and nothing
else. Read the code (you may only read) and judge whether the spec is ready: right about the code, complete,
unambiguous, testable, small enough for one session. Answer with one JSON document and nothing else,
following docs/plan-review.schema.json: { "confidence": <0 to 1, that a competent stranger can build it as
written>, "gaps": [what is missing or wrong], "questions": [what a person must decide] }. If you run as a
command with an {output_file}, write the JSON document to that file.`;

/** The reviewer's prompt for one task: the spec as it will be written, without the planner's confidence. */
export function reviewerPrompt(
  task: PlannedTask,
  c: Pick<PlanContext, 'scopeBody' | 'rulesBody' | 'baseCommit'>,
  others: string[],
): string {
  const parts = [`# nightshift plan review\n\n${REVIEWER_PREAMBLE}`];
  if (c.scopeBody.trim()) parts.push(`# Project context (scope.md)\n\n${c.scopeBody.trim()}`);
  if (c.rulesBody.trim()) parts.push(`# Rules every executor follows (rules.md)\n\n${c.rulesBody.trim()}`);
  parts.push(`# The other tasks (ids it may depend on)\n\n${others.map((o) => `- ${o}`).join('\n') || '(none)'}`);
  const facts = [
    `id: ${task.id}`,
    `kind: ${task.kind ?? '(default)'}`,
    `depends_on: ${task.depends_on.join(', ') || '(none)'}`,
    `files: ${task.files.join(', ') || '(any)'}`,
    `estimated_minutes: ${task.estimated_minutes}`,
    `base commit: ${c.baseCommit}`,
  ];
  parts.push(`# Task: ${task.title}\n\n${facts.join('\n')}\n\n${taskBody(task)}`);
  return `${parts.join('\n\n')}\n`;
}

const HEADINGS: Record<(typeof BODY_SECTIONS)[number], string> = {
  goal: '# Goal',
  context: '## Context',
  files: '## Files',
  steps: '## Steps',
  acceptance_criteria: '## Acceptance criteria',
  test_plan: '## Test plan',
  out_of_scope: '## Out of scope',
};

/** The task file's markdown body: each section under its heading, in order. */
export function taskBody(task: PlannedTask): string {
  return BODY_SECTIONS.map((s) => `${HEADINGS[s]}\n\n${task.body[s].trim()}\n`).join('\n');
}
