import { chooseExecutor } from '../exec/executors.js';
import type { Task } from '../task/task.js';
import type { RunContext } from './context.js';
import type { AttemptFinished } from './events.js';
import type { AttemptOutcome, AttemptReport } from './outcome.js';

const ATTEMPT_RESULT: Record<AttemptOutcome['kind'], AttemptFinished['result'] | undefined> = {
  success: 'success',
  failure: 'task-failure',
  // The executor's work passed every check; publishing it is not its doing.
  unpublished: 'success',
  blocked: 'infra-failure',
  waiting: 'infra-failure',
  interrupted: 'interrupted',
  lost: undefined,
};

/**
 * One `attempt:finished` per executor that ran: a fallback's infra failure counts against the executor
 * that failed, the attempt's result against the one that ran last. An attempt that ended before any
 * executor started (setup failed) is counted against the executor it was routed to.
 */
export function emitAttemptFinished(ctx: RunContext, task: Task, attempt: number, outcome: AttemptOutcome, report: AttemptReport): void {
  const result = ATTEMPT_RESULT[outcome.kind];
  if (!result) return;
  const runs = report.runs;
  if (runs.length === 0) {
    ctx.events.emit('attempt:finished', { id: task.id, attempt, executor: chooseExecutor(task, ctx.rules) ?? 'none', result });
    return;
  }
  runs.forEach((run, i) => {
    const last = i === runs.length - 1;
    ctx.events.emit('attempt:finished', {
      id: task.id,
      attempt,
      executor: run.executor,
      result: last ? result : run.result,
      tokens: run.usage.tokens,
      costUsd: run.usage.costUsd,
    });
  });
}
