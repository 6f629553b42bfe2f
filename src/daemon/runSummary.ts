import type { TaskRunResult } from '../run/outcome.js';
import type { ProgressFields } from '../progress/log.js';
import type { RecoverResult } from './recover.js';
import type { RunSummary } from './types.js';

/**
 * The tally a daemon run resolves `done` with and writes on its daemon-stop line: tasks this run
 * finished, by how they ended.
 */

export function emptySummary(): RunSummary {
  return { done: 0, failed: 0, blocked: 0, cancelled: 0, waiting: 0 };
}

/** Counts one task run's end. */
export function countRun(summary: RunSummary, result: TaskRunResult): void {
  switch (result.kind) {
    case 'done':
      summary.done++;
      break;
    case 'failed':
      summary.failed++;
      break;
    case 'blocked':
      summary.blocked++;
      break;
    case 'cancelled':
      summary.cancelled++;
      break;
    case 'requeued':
    case 'skipped':
      break;
    default: {
      const never: never = result;
      throw new Error(`unexpected result ${JSON.stringify(never)}`);
    }
  }
}

/** Counts a task taken back from a dead run: finalizing its kept commit is a task done. */
export function countRecovered(summary: RunSummary, result: RecoverResult): void {
  if (result === 'failed') summary.failed++;
  if (result === 'finalized') summary.done++;
}

/** The daemon-stop line's fields (parked only when there are any). */
export function stopLineFields(s: RunSummary): ProgressFields {
  return {
    done: s.done,
    failed: s.failed,
    blocked: s.blocked,
    cancelled: s.cancelled,
    waiting: s.waiting,
    parked: s.parked || undefined,
    budget: s.budget || undefined,
  };
}
