import { pathsChangedBetween } from '../git/diff.js';
import { resolveCommit, type Git } from '../git/git.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import { matchesAny } from '../util/glob.js';

export type DriftCheck = { kind: 'ok' } | { kind: 'drifted'; reason: string };

/**
 * A task planned against an older base (`planned_at`) is blocked when base has since changed a path in its
 * `files` scope: the planner re-plans instead of an executor building on a stale assumption. Without
 * `files` there is no scope to compare, so nothing drifts.
 */
export async function checkPlanDrift(git: Git, task: Task, baseHead: string | undefined): Promise<DriftCheck> {
  if (task.plannedAt === undefined || !task.files || task.files.length === 0 || baseHead === undefined) return { kind: 'ok' };
  const planned = task.plannedAt;
  // planned_at was validated as 7-40 hex digits, so it cannot read as an option or a range.
  const from = await resolveCommit(git, planned);
  if (!from) {
    return {
      kind: 'drifted',
      reason: `plan drift: planned_at ${planned} is not a commit in this repository, or is ambiguous (fetch it, or re-plan the task and set planned_at again)`,
    };
  }
  if (from === baseHead) return { kind: 'ok' };
  const changed = driftedPaths(await pathsChangedBetween(git, from, baseHead), task.files);
  if (changed.length === 0) return { kind: 'ok' };
  return { kind: 'drifted', reason: driftReason(changed, planned) };
}

/**
 * The tip of base the task would start from: with push: land the remote's (just fetched), else the local
 * branch. Dependencies stacked on top are part of the plan, not drift.
 */
export async function driftBase(ctx: RunContext): Promise<string | undefined> {
  const ref = ctx.rules.push === 'land' ? `refs/remotes/${ctx.rules.remote}/${ctx.base}` : `refs/heads/${ctx.base}`;
  return resolveCommit(ctx.git, ref);
}

/** The changed paths inside the task's scope. Pure. */
export function driftedPaths(changed: string[], files: string[]): string[] {
  return changed.filter((p) => matchesAny(p, files));
}

export function driftReason(paths: string[], plannedAt: string): string {
  const named = paths.length > 3 ? `${paths.slice(0, 3).join(', ')} and ${paths.length - 3} more` : paths.join(', ');
  return `plan drift: ${named} changed since the plan was written (planned_at ${plannedAt.slice(0, 7)})`;
}
