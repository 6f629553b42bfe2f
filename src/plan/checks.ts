import { idProblem } from '../task/id.js';
import { globToRegExp } from '../util/glob.js';
import { BODY_SECTIONS, type PlanAnswer, type PlannedTask } from './schema.js';

/** An estimate above this is not one agent session. */
export const MAX_MINUTES = 60;
/** A task touching more files than this is not atomic. */
export const MAX_FILES = 10;
const NAME = /^[a-z0-9][a-z0-9_-]*$/;

export interface StaticChecks {
  /** Per task id, the checks it failed: the plan is refused, nothing is written. */
  failed: Map<string, string[]>;
  /** Per task id, why it is not atomic: written, but never ready. */
  notAtomic: Map<string, string>;
}

/**
 * The checks a plan must pass before any model reviews it, all at once so that every failure is named on
 * its task. `existing`: the ids in tasks/; `tree`: every path at the base commit. Pure.
 */
export function checkPlan(plan: PlanAnswer, existing: ReadonlySet<string>, tree: readonly string[]): StaticChecks {
  const failed = new Map<string, string[]>();
  const notAtomic = new Map<string, string>();
  const fail = (id: string, why: string) => failed.set(id, [...(failed.get(id) ?? []), why]);
  const ids = new Set<string>();
  for (const task of plan.tasks) {
    const idIssue = idProblem(task.id);
    if (idIssue) fail(task.id, idIssue);
    if (existing.has(task.id)) fail(task.id, `the id ${task.id} is taken by tasks/${task.id}.md; pick a new one`);
    if (ids.has(task.id)) fail(task.id, `the id ${task.id} is used twice in the plan`);
    ids.add(task.id);
  }
  for (const task of plan.tasks) {
    for (const section of BODY_SECTIONS) {
      if (task.body[section].trim() === '') fail(task.id, `the ${section.replace(/_/g, ' ')} section is missing (empty)`);
    }
    for (const dep of task.depends_on) {
      if (dep === task.id) fail(task.id, 'depends_on lists the task itself');
      else if (!ids.has(dep) && !existing.has(dep)) fail(task.id, `depends_on ${dep}: no such task in the plan or in tasks/`);
    }
    if (task.kind !== null && !NAME.test(task.kind)) fail(task.id, `kind ${JSON.stringify(task.kind)} is not a kind name`);
    for (const skill of task.skills) if (!NAME.test(skill)) fail(task.id, `skill ${JSON.stringify(skill)} is not a skill name`);
    for (const glob of task.files) {
      const why = fileProblem(glob, tree);
      if (why) fail(task.id, why);
    }
    const big = [
      task.estimated_minutes > MAX_MINUTES ? `estimated ${task.estimated_minutes} minutes (more than ${MAX_MINUTES})` : '',
      task.files.length > MAX_FILES ? `${task.files.length} files (more than ${MAX_FILES})` : '',
    ].filter(Boolean);
    if (big.length > 0) notAtomic.set(task.id, `not atomic: ${big.join(', ')}; split it`);
  }
  for (const cycle of cyclesIn(plan.tasks)) fail(cycle[0] as string, `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  return { failed, notAtomic };
}

/** A `files` entry must match something at the base commit, or be a plain path (a new file). */
function fileProblem(glob: string, tree: readonly string[]): string | undefined {
  const p = glob.trim();
  if (p === '' || p.startsWith('/') || p.split('/').includes('..'))
    return `files: ${JSON.stringify(glob)} is not a path inside the repository`;
  if (!/[*?{]/.test(p)) return undefined;
  const re = globToRegExp(p);
  return tree.some((path) => re.test(path)) ? undefined : `files: ${JSON.stringify(glob)} matches nothing in the tree`;
}

/** Each dependency cycle among the plan's own tasks once, as the ids along it. */
function cyclesIn(tasks: readonly PlannedTask[]): string[][] {
  const deps = new Map(tasks.map((t) => [t.id, t.depends_on.filter((d) => d !== t.id)]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  const visit = (id: string, path: string[]) => {
    state.set(id, 'open');
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      if (state.get(dep) === 'open') cycles.push(path.slice(path.indexOf(dep)));
      else if (!state.has(dep)) visit(dep, [...path, dep]);
    }
    state.set(id, 'done');
  };
  for (const t of tasks) if (!state.has(t.id)) visit(t.id, [t.id]);
  return cycles;
}
