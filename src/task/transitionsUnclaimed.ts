import { utcStamp } from '../progress/log.js';
import { updateTasksInBulk } from './bulkUpdate.js';
import { updateTask } from './store.js';
import type { OwnedChanges, Status, Task } from './task.js';
import { assertLegal } from './transitionTable.js';
import type { TransitionSinks } from './transitions.js';

/**
 * Transitions of tasks no run holds: a person's `requeue` and `cancel`, and the scheduler blocking queued
 * tasks whose dependency failed. The task's status is read under the file's edit lock, so the decision is
 * made on the file as it is now; the progress line is written before that lock is released, so a daemon's
 * scan never sees the change without its line (and reports it as an edit of the file instead).
 */

/** What a command's transition did: changed the task (from its status then), or refused its status now. */
export type OnRequest = { kind: 'changed'; from: Task } | { kind: 'refused'; status: Status | 'unreadable' };

/**
 * `nightshift requeue`: back to the queue with a fresh attempt budget (history stays in progress.txt). A
 * running or queued task is refused. A failed task keeps `commit:`: its checked commit failed to publish, and
 * the next claim publishes it.
 */
export function requeueOnRequest(locksDir: string, sinks: TransitionSinks, task: Task): Promise<OnRequest> {
  return onRequest(
    locksDir,
    task,
    (t) => {
      if (t.status === 'running' || t.status === 'queued') return undefined;
      assertLegal('requeued', t.status, 'queued');
      const commit = t.status === 'failed' ? undefined : null;
      return { status: 'queued', attempts: 0, error: null, finished_at: null, started_at: null, claimed_by: null, commit };
    },
    (from) => sinks.progress.append(task.id, 'requeued', { from: from.status, attempts: from.attempts }),
  );
}

/**
 * `nightshift approve` (and `plan --queue`): a planned draft enters the queue. Anything but a draft is
 * refused: a task someone else queued, cancelled or ran meanwhile is theirs.
 */
export function approveOnRequest(
  locksDir: string,
  sinks: TransitionSinks,
  task: Task,
  fields: { plan?: string; forced?: boolean },
): Promise<OnRequest> {
  return onRequest(
    locksDir,
    task,
    (t) => {
      if (t.status !== 'draft') return undefined;
      assertLegal('approved', t.status, 'queued');
      return { status: 'queued', error: null };
    },
    () => sinks.progress.append(task.id, 'approved', { plan: fields.plan, forced: fields.forced ? 'yes' : undefined }),
  );
}

/**
 * `nightshift cancel`: any task not done or cancelled already. A running one's run notices it and stops.
 * `branchGone`: the task's branch no longer exists, so `branch:` stops naming it (if it still names the
 * branch the caller looked up).
 */
export function cancelOnRequest(locksDir: string, sinks: TransitionSinks, task: Task, branchGone: boolean): Promise<OnRequest> {
  return onRequest(
    locksDir,
    task,
    (t) => {
      if (t.status === 'done' || t.status === 'cancelled') return undefined;
      assertLegal('cancelled', t.status, 'cancelled');
      const branch = branchGone && t.branch === task.branch ? null : undefined;
      return { status: 'cancelled', finished_at: utcStamp(), claimed_by: null, branch };
    },
    (from) => sinks.progress.append(task.id, 'cancelled', { from: from.status }),
  );
}

async function onRequest(
  locksDir: string,
  task: Task,
  decide: (now: Task) => OwnedChanges | undefined,
  log: (from: Task) => Promise<unknown>,
): Promise<OnRequest> {
  let from: Task | undefined;
  const result = await updateTask(locksDir, task.file, task.id, decide, async (before) => {
    from = before;
    await log(before);
  });
  if (result.kind === 'updated' && from) return { kind: 'changed', from };
  return { kind: 'refused', status: result.kind === 'updated' || result.kind === 'unchanged' ? result.task.status : 'unreadable' };
}

export interface ToBlock {
  task: Task;
  reason: string;
}

/**
 * Queued tasks blocked, all in one batch (see updateTasksInBulk: a failed head of a 10,000-task chain blocks
 * the whole chain in one scan), each file re-read under its edit lock so a task that is no longer queued is
 * left alone; their `blocked` lines in one write. Returns those that were blocked.
 */
export async function blockedInBulk(locksDir: string, sinks: TransitionSinks, items: ToBlock[]): Promise<ToBlock[]> {
  if (items.length === 0) return [];
  const reasons = new Map(items.map((i) => [i.task.id, i.reason]));
  const finishedAt = utcStamp();
  const decide =
    (reason: string) =>
    (t: Task): OwnedChanges | undefined => {
      if (t.status !== 'queued') return undefined;
      assertLegal('blocked', t.status, 'blocked');
      return { status: 'blocked', error: reason, finished_at: finishedAt };
    };
  const written = await updateTasksInBulk(
    locksDir,
    items.map(({ task, reason }) => ({ task, decide: decide(reason) })),
  );
  const blocked = written.map((task) => ({ task, reason: reasons.get(task.id) as string }));
  await sinks.progress.appendAll(blocked.map(({ task, reason }) => ({ id: task.id, event: 'blocked', fields: { reason } })));
  for (const { task, reason } of blocked) sinks.events?.emit('task:blocked', { id: task.id, reason });
  return blocked;
}
