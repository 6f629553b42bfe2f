import type { Paths } from '../paths.js';
import type { ProgressLog } from '../progress/log.js';
import { loadTasks } from '../task/store.js';
import type { Task } from '../task/task.js';
import { approveOnRequest } from '../task/transitionsUnclaimed.js';

export interface ApproveRequest {
  paths: Paths;
  progress: ProgressLog;
  /** Task ids to approve; or `plan`: every draft of that plan. */
  ids?: string[];
  plan?: string;
  /** Queue a task that is not ready, or whose dependencies are drafts, anyway. */
  force?: boolean;
}

export type Approval =
  | { id: string; kind: 'queued'; forced?: string }
  /** Not ready or waiting on drafts, and not forced: left a draft. */
  | { id: string; kind: 'refused'; reason: string }
  /** Not a draft (any more): nothing to approve. */
  | { id: string; kind: 'not-draft'; status: string }
  | { id: string; kind: 'missing' };

/**
 * Queues planned drafts through the `approved` transition. A task the readiness gate did not pass, or
 * one depending on a draft that is not approved with it, is refused unless `force`. Used by
 * `nightshift approve`, `plan --queue` and the dashboard; prints nothing, the caller tells the user.
 */
export async function approveTasks(req: ApproveRequest): Promise<Approval[]> {
  const entries = await loadTasks(req.paths.tasks);
  const tasks = new Map<string, Task>();
  for (const e of entries) if (e.kind === 'task') tasks.set(e.task.id, e.task);
  const ids = req.ids ?? [...tasks.values()].filter((t) => t.status === 'draft' && t.frontmatter.plan === req.plan).map((t) => t.id);
  const approving = new Set(ids);
  const results: Approval[] = [];
  for (const id of ids) {
    const task = tasks.get(id);
    if (!task) {
      results.push({ id, kind: 'missing' });
      continue;
    }
    if (task.status !== 'draft') {
      results.push({ id, kind: 'not-draft', status: task.status });
      continue;
    }
    const objection = objectionTo(task, tasks, approving);
    if (objection && !req.force) {
      results.push({ id, kind: 'refused', reason: objection });
      continue;
    }
    const plan = typeof task.frontmatter.plan === 'string' ? task.frontmatter.plan : undefined;
    const done = await approveOnRequest(req.paths.locks, { progress: req.progress }, task, { plan, forced: objection !== undefined });
    if (done.kind === 'changed') results.push({ id, kind: 'queued', forced: objection });
    else results.push({ id, kind: 'not-draft', status: done.status });
  }
  return results;
}

/** Why a draft should not enter the queue yet, or undefined when nothing stands in its way. */
export function objectionTo(task: Task, tasks: ReadonlyMap<string, Task>, approving: ReadonlySet<string>): string | undefined {
  const reasons: string[] = [];
  // A draft written by hand carries no verdict: its author already decided it is ready.
  const readiness = task.frontmatter.readiness as { ready?: unknown; reason?: unknown } | undefined;
  if (readiness && readiness.ready !== true) {
    reasons.push(`not ready${typeof readiness.reason === 'string' ? `: ${readiness.reason}` : ''}`);
  }
  const drafts = task.dependsOn.filter((d) => tasks.get(d)?.status === 'draft' && !approving.has(d));
  if (drafts.length > 0) reasons.push(`depends on draft${drafts.length === 1 ? '' : 's'} ${drafts.join(', ')}`);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}
