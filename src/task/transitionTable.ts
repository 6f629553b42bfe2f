import { InternalError } from '../errors.js';
import type { Status } from './task.js';

/** Every state change a task can go through; src/task/transitions.ts has one function per name. */
export type Transition =
  | 'claim'
  | 'startAttempt'
  | 'attemptFailed'
  | 'retryScheduled'
  | 'done'
  | 'failed'
  | 'blocked'
  | 'requeued'
  | 'waitingForExecutor'
  | 'waitingForBudget'
  | 'cancelled'
  | 'recovered'
  | 'finalized'
  | 'approved';

/**
 * The legal transitions: from a status, which transitions may run and the statuses each may leave the task
 * in. A run's own steps (an attempt starts, fails, a retry is scheduled) leave it `running`; recovery takes a
 * dead run's task over and leaves it `running` while it publishes that run's commit. Anything else is a bug
 * in nightshift, never something a task file can cause: callers check the file's status before they ask.
 */
export const LEGAL: Readonly<Record<Status, Partial<Record<Transition, readonly Status[]>>>> = {
  queued: {
    claim: ['running'],
    // Before any attempt: its dependency failed, or its plan drifted.
    blocked: ['blocked'],
    cancelled: ['cancelled'],
  },
  running: {
    startAttempt: ['running'],
    attemptFailed: ['running'],
    retryScheduled: ['running'],
    done: ['done'],
    failed: ['failed'],
    blocked: ['blocked'],
    // The daemon is stopping.
    requeued: ['queued'],
    waitingForExecutor: ['queued'],
    waitingForBudget: ['queued'],
    // `nightshift cancel` writes it; the run notices it.
    cancelled: ['cancelled'],
    recovered: ['queued', 'failed', 'running'],
    finalized: ['done', 'queued'],
  },
  // `nightshift requeue` and `nightshift cancel`.
  failed: { requeued: ['queued'], cancelled: ['cancelled'] },
  blocked: { requeued: ['queued'], cancelled: ['cancelled'] },
  // `nightshift approve` (or `plan --queue`): a planned draft enters the queue.
  draft: { approved: ['queued'], requeued: ['queued'], cancelled: ['cancelled'] },
  cancelled: { requeued: ['queued'] },
  done: { requeued: ['queued'] },
};

/** Whether `transition` may take a task from `from` to `to` (to any status it allows when `to` is left out). */
export function isLegal(transition: Transition, from: Status, to?: Status): boolean {
  const allowed = LEGAL[from][transition];
  return allowed !== undefined && (to === undefined || allowed.includes(to));
}

/** Refuses an illegal transition: a caller asked for one its own checks should have ruled out. */
export function assertLegal(transition: Transition, from: Status, to: Status): void {
  if (!isLegal(transition, from, to)) throw new InternalError(`illegal task transition ${transition}: ${from} -> ${to}`);
}
