import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlanAnswer, PlannedTask, ReviewAnswer } from '../../src/plan/schema.js';

/** One planned task with every section filled; `over` replaces fields. */
export function plannedTask(id: string, over: Partial<PlannedTask> = {}): PlannedTask {
  return {
    id,
    title: `Task ${id}`,
    kind: null,
    depends_on: [],
    files: [`out-${id}.txt`],
    skills: [],
    estimated_minutes: 20,
    confidence: 0.9,
    body: {
      goal: `Write out-${id}.txt.`,
      context: 'The repository has a README only.',
      files: `out-${id}.txt (new).`,
      steps: `1. Write out-${id}.txt with one line.`,
      acceptance_criteria: `out-${id}.txt exists.`,
      test_plan: 'rules.md test checks the file.',
      out_of_scope: 'Nothing else.',
    },
    ...over,
  };
}

/**
 * Three tasks, 011-b depending on 010-a; 012-c is the one the reviewer doubts (see REVIEWS): two ready,
 * one a draft with the reviewer's gaps.
 */
export const THREE: PlanAnswer = {
  tasks: [plannedTask('010-a'), plannedTask('011-b', { depends_on: ['010-a'] }), plannedTask('012-c', { confidence: 0.85 })],
  questions: ['Should out files be ignored by git?'],
};

export const REVIEWS: Record<string, ReviewAnswer> = {
  '010-a': { confidence: 0.9, gaps: [], questions: [] },
  '011-b': { confidence: 0.85, gaps: [], questions: [] },
  '012-c': { confidence: 0.4, gaps: ['It does not say what the line in out-012-c.txt should be.'], questions: ['Which line?'] },
};

/**
 * A folder of canned answers and `answer.sh`, a command planner/reviewer: it writes `<step>.json` (the
 * step is NIGHTSHIFT_TASK_ID: planner, planner-retry, review-<id>...) to {output_file}, runs `<step>.sh`
 * instead when there is one, and falls back to `<role>.json` for a retry with no answer of its own.
 */
export async function cannedAnswers(dir: string, answers: Record<string, unknown>, scripts: Record<string, string> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(answers)) {
    await writeFile(join(dir, `${name}.json`), typeof value === 'string' ? value : JSON.stringify(value));
  }
  for (const [name, body] of Object.entries(scripts)) await writeFile(join(dir, `${name}.sh`), body);
  const script = join(dir, 'answer.sh');
  await writeFile(
    script,
    `#!/bin/sh
d=$(dirname "$0"); s="$NIGHTSHIFT_TASK_ID"
[ -f "$d/$s.sh" ] && exec sh "$d/$s.sh" "$1"
[ -f "$d/$s.json" ] || s="\${s%-retry}"
[ -f "$d/$s.json" ] || { echo "no answer for $NIGHTSHIFT_TASK_ID"; exit 3; }
cp "$d/$s.json" "$1"
`,
  );
  return script;
}

/** Canned answers for THREE: the plan and one review per task. */
export function threeAnswers(): Record<string, unknown> {
  return { planner: THREE, ...Object.fromEntries(Object.entries(REVIEWS).map(([id, r]) => [`review-${id}`, r])) };
}
