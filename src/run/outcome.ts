/**
 * How an attempt ends and how a task's run ends: the results the attempt's steps, the runner and the
 * scheduler hand each other. They live apart from the code that produces them so that a step never
 * imports its orchestrator (no import cycle).
 */

/** How one attempt ends (runAttempt and each of its steps). */
export type AttemptOutcome =
  | { kind: 'success'; commit: string; pushed: boolean }
  /** The attempt failed; `detail` (reason plus output tail) goes into the next attempt's prompt. */
  | { kind: 'failure'; reason: string; detail: string; retry: boolean }
  /**
   * The checked commit was made, but pushing or landing it failed (remote unreachable, push refused, base
   * kept moving). Not the task's fault: the commit is kept (on `baseCommit`), and publishing it again needs
   * no executor. `retry` false: another try now would fail the same way.
   */
  | { kind: 'unpublished'; reason: string; commit: string; baseCommit: string; retry: boolean }
  /** The task cannot run as configured (executor missing): no attempt will help until someone acts. */
  | { kind: 'blocked'; reason: string }
  /**
   * Every executor the task may use is parked, until a known time (usage limit) or, when `until` is
   * absent, until the daemon restarts: back to the queue, no attempt used.
   */
  | { kind: 'waiting'; reason: string; until?: Date }
  /** The daemon is stopping: the task goes back to the queue. */
  | { kind: 'interrupted' }
  /** Someone else owns the task now (cancelled, lock taken over): stop quietly. */
  | { kind: 'lost'; why: 'cancelled' | 'claim' };

/** How a task's run ends (runTask), counted by the scheduler. */
export type TaskRunResult =
  | { kind: 'done'; commit: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'blocked'; reason: string }
  | { kind: 'cancelled' }
  | { kind: 'requeued' }
  /** Someone else claimed it first, or it changed before we could start: not ours to run. */
  | { kind: 'skipped' };
