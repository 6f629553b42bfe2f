import { utcStamp } from '../state/progress.js';
import { updateTasksInBulk } from '../task/bulkUpdate.js';
import type { Task } from '../task/task.js';
import type { RunContext } from '../run/context.js';

export interface ToBlock {
  task: Task;
  reason: string;
}

/**
 * Marks queued tasks blocked, all in one batch (see updateTasksInBulk: a failed head of a 10,000-task chain
 * blocks the whole chain in one scan), each file re-read under its edit lock so a task that is no longer
 * queued is left alone. Returns those that were blocked, after their `blocked` lines were written.
 */
export async function blockTasks(ctx: RunContext, items: ToBlock[]): Promise<ToBlock[]> {
  if (items.length === 0) return [];
  const reasons = new Map(items.map((i) => [i.task.id, i.reason]));
  const finishedAt = utcStamp();
  const written = await updateTasksInBulk(
    ctx.paths.locks,
    items.map(({ task, reason }) => ({
      task,
      decide: (t: Task) => (t.status === 'queued' ? { status: 'blocked', error: reason, finished_at: finishedAt } : undefined),
    })),
  );
  const blocked = written.map((task) => ({ task, reason: reasons.get(task.id) as string }));
  await ctx.progress.appendAll(blocked.map(({ task, reason }) => ({ id: task.id, event: 'blocked', fields: { reason } })));
  return blocked;
}
